"""Read-only summaries of the licensing state, shared by the admin screens and the command."""

from .conf import licensing_settings
from .models import LicensedProduct, LicensingState


def installed_products(state=None):
    """The installed products with usage annotations, in one query."""
    state = state or LicensingState.get()
    if state.installed_file_id is None:
        return LicensedProduct.objects.none()
    return LicensedProduct.objects.filter(
        license_file_id=state.installed_file_id).with_usage().order_by("type", "code")


def site_status():
    state = LicensingState.get_with_installed_file()
    installed = state.installed_file
    products = []
    for product in installed_products(state):
        products.append({
            "code": product.code,
            "name": product.name,
            "type": product.type,
            "seats": product.seats,
            "used": product.in_use,
            "holders": product.holders,
            "available": product.available,
            "valid_from": product.valid_from.isoformat(),
            "valid_until": product.valid_until.isoformat(),
            "state": product.status,
        })
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
        "products": products,
    }
