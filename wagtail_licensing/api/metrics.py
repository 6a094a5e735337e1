"""Seats, use and expiry per product for Prometheus.

The gauges are read from the same kept counters and status rules as every other surface
(``families``). With ``prometheus-client`` installed (the ``metrics`` extra) they are written
by the client library, through a custom collector on a registry of their own (never the
process's default registry, so nothing else the site exports leaks in), in the format the
scraper asks for (OpenMetrics or the text format); without it, the same gauges are written by
hand in the text format 0.0.4.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..models import LicensedProduct
from ..rules.status import ProductFacts

prometheus_client: Any
try:
    import prometheus_client
    import prometheus_client.core
    import prometheus_client.exposition
    import prometheus_client.registry
except ImportError:  # pragma: no cover - the metrics extra is not installed
    prometheus_client = None

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
DEMO_HELP = "1 when no license is installed."


@dataclass
class Family:
    """One gauge: its name (without the prefix), help text and samples (labels, value);
    a value of None is +Inf (unlimited)."""

    name: str
    help: str
    samples: list[tuple[dict[str, str], int | None]] = field(default_factory=list)


def families(products: Iterable[LicensedProduct], day: date, *, demo: bool) -> list[Family]:
    """The gauges, from the kept counters (``with_usage``) and ``rules.status``."""
    out = [Family("demo_mode", DEMO_HELP, [({}, int(demo))])]
    by_name = {name: Family(name, help_text) for name, help_text in GAUGES.items()}
    for product in products:
        labels = {"product": product.code, "type": str(product.type)}
        by_name["seats"].samples.append((labels, product.seats))
        by_name["seats_used"].samples.append((labels, product.in_use))
        by_name["seats_available"].samples.append((labels, product.available))
        by_name["holders"].samples.append((labels, product.holders))
        by_name["days_until_expiry"].samples.append(
            (labels, ProductFacts.of(product).days_left(day))
        )
        by_name["status"].samples.append(({**labels, "status": product.status.value}, 1))
    return out + list(by_name.values())


# Written by hand: the fallback --------------------------------------------------------------


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: int | None) -> str:
    return "+Inf" if value is None else str(value)


def lines(products: Iterable[LicensedProduct], day: date, *, demo: bool) -> Iterator[str]:
    for family in families(products, day, demo=demo):
        yield f"# HELP {PREFIX}{family.name} {family.help}"
        yield f"# TYPE {PREFIX}{family.name} gauge"
        for labels, value in family.samples:
            text = ",".join(f'{key}="{escape(val)}"' for key, val in labels.items())
            yield (
                f"{PREFIX}{family.name}{{{text}}} {number(value)}"
                if text
                else f"{PREFIX}{family.name} {number(value)}"
            )


def exposition(products: Iterable[LicensedProduct], day: date, *, demo: bool) -> str:
    return "\n".join(lines(products, day, demo=demo)) + "\n"


# Written by prometheus-client -------------------------------------------------------------


class LicensingCollector:
    """A prometheus-client custom collector of ``families`` (computed once, at creation:
    one scrape, one read of the counters)."""

    def __init__(self, found: list[Family]) -> None:
        self.found = found

    def collect(self) -> Iterator[Any]:
        for family in self.found:
            names = list(family.samples[0][0]) if family.samples else []
            gauge = prometheus_client.core.GaugeMetricFamily(
                PREFIX + family.name, family.help, labels=names
            )
            for labels, value in family.samples:
                gauge.add_metric(
                    [labels[name] for name in names], float("inf") if value is None else value
                )
            yield gauge


def render(
    products: Iterable[LicensedProduct], day: date, *, demo: bool, accept: str = ""
) -> tuple[bytes, str]:
    """The body and content type for a scraper that sent ``accept``."""
    if prometheus_client is None:
        return exposition(products, day, demo=demo).encode(), CONTENT_TYPE
    registry = prometheus_client.registry.CollectorRegistry(auto_describe=False)
    registry.register(LicensingCollector(families(products, day, demo=demo)))
    encoder, content_type = prometheus_client.exposition.choose_encoder(accept)
    return encoder(registry), content_type
