"""Seats, use and expiry per product in the Prometheus text format (version 0.0.4).

A handful of gauges, written out directly: no client library is needed to expose them, and
they are read from the same kept counters and status rules as every other surface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from ..models import LicensedProduct
from ..rules.status import ProductFacts

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "wagtail_licensing_"

GAUGES = {
    "seats": "Seats (or concurrent slots) of the product; +Inf when unlimited.",
    "seats_used": "Seats taken (named, portal) or sessions holding a slot (concurrent).",
    "seats_available": "Seats left; +Inf when unlimited.",
    "holders": "Users holding the product.",
    "days_until_expiry": "Days until the product's valid_until (negative once expired).",
    "status": "1 for the product's current status (rules.status).",
}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: int | None) -> str:
    return "+Inf" if value is None else str(value)


def lines(products: Iterable[LicensedProduct], day: date, *, demo: bool) -> Iterator[str]:
    products = list(products)
    yield f"# HELP {PREFIX}demo_mode 1 when no license is installed."
    yield f"# TYPE {PREFIX}demo_mode gauge"
    yield f"{PREFIX}demo_mode {int(demo)}"
    rows: dict[str, list[str]] = {name: [] for name in GAUGES}
    for product in products:
        labels = f'product="{escape(product.code)}",type="{escape(str(product.type))}"'
        rows["seats"].append(f"{{{labels}}} {number(product.seats)}")
        rows["seats_used"].append(f"{{{labels}}} {product.in_use}")
        rows["seats_available"].append(f"{{{labels}}} {number(product.available)}")
        rows["holders"].append(f"{{{labels}}} {product.holders}")
        days = ProductFacts.of(product).days_left(day)
        rows["days_until_expiry"].append(f"{{{labels}}} {days}")
        rows["status"].append(f'{{{labels},status="{product.status.value}"}} 1')
    for name, help_text in GAUGES.items():
        yield f"# HELP {PREFIX}{name} {help_text}"
        yield f"# TYPE {PREFIX}{name} gauge"
        yield from (f"{PREFIX}{name}{row}" for row in rows[name])


def exposition(products: Iterable[LicensedProduct], day: date, *, demo: bool) -> str:
    return "\n".join(lines(products, day, demo=demo)) + "\n"


