"""Read-only summaries of the licensing state, shared by the admin screens and the command."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from . import group_status
from .conf import licensing_settings
from .dates import site_today
from .models import LicensedProduct, LicensingState
from .rules.status import ProductFacts, product_alerts, product_status, status_label


def installed_products(state: LicensingState | None = None) -> QuerySet[LicensedProduct]:
    """The installed products with usage annotations, in one query."""
    state = state or LicensingState.get()
    if state.installed_file_id is None:
        return LicensedProduct.objects.none()
    return LicensedProduct.objects.filter(
        license_file_id=state.installed_file_id).with_usage().order_by("type", "code")


def product_summary(product: LicensedProduct, day: Any) -> dict[str, Any]:
    """One product as ``licensing status --json`` shows it: its status and alerts come from
    ``rules.status``, as on every other surface."""
    facts = ProductFacts.of(product)
    status = product_status(facts, day)
    return {
        "code": product.code,
        "name": product.name,
        "type": product.type,
        "seats": product.seats,
        "used": product.in_use,
        "holders": product.holders,
        "available": product.available,
        "valid_from": product.valid_from.isoformat(),
        "valid_until": product.valid_until.isoformat(),
        "grants_until": facts.grants_until.isoformat(),
        "state": str(status),
        "status": status_label(facts, day, status),
        "alerts": [{"kind": str(alert.kind), "level": str(alert.level),
                    "message": alert.message} for alert in product_alerts(facts, day)],
    }


def site_status() -> dict[str, Any]:
    state = LicensingState.get_with_installed_file()
    installed = state.installed_file
    day = site_today()
    return {
        "company_id": installed.company_id if installed else licensing_settings.COMPANY_ID,
        "instance_id": str(state.instance_id),
        "demo_mode": installed is None,
        "license": None if installed is None else {
            "license_id": installed.license_id,
            "license_version": installed.license_version,
            "issued_at": installed.issued_at.isoformat(),
            "installed_at": installed.installed_at.isoformat(),
            "installed_by": installed.installed_by.get_username()
            if installed.installed_by else None,
        },
        "products": [product_summary(product, day) for product in installed_products(state)],
        # Members of bound groups left without a product (group-based licensing).
        "licensing_problems": group_status.problems_by_code(),
    }
