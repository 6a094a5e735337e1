"""The license request (``.tlr``) a manager sends to the vendor."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from typing import Any, ClassVar

import django
import wagtail
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Site

from .. import __version__
from ..conf import licensing_settings
from ..dates import site_date
from ..exceptions import InvalidLicenseRequest
from ..models import LicensedProduct
from ..rules.filenames import safe_filename
from .base import LicensingAction, StateAccess
from .usage import usage_summary

ACTION_REQUEST = "wagtail_licensing.request"
AFTER_LICENSE_REQUEST_CREATED = "after_license_request_created"


def default_license_version(installed: Any = None) -> str:
    """The license version a request asks for: the ``LICENSE_VERSION`` setting (the site's
    product version), else the installed license's. Not this app's own version: the license is
    for the site's product, not for the licensing plugin."""
    configured = str(licensing_settings.LICENSE_VERSION or "").strip()
    if configured:
        return configured
    return (getattr(installed, "license_version", "") or "").strip()


@dataclass
class LicenseRequest:
    filename: str
    data: dict[str, Any]
    hook_results: list[Any] = field(default_factory=list)  # what the hooks returned

    content_type: ClassVar[str] = "application/json"

    @property
    def content(self) -> bytes:
        return (json.dumps(self.data, indent=2) + "\n").encode("utf-8")


class LicenseRequestAction(LicensingAction[LicenseRequest]):
    """Build the request and log it. It changes no licensing state, so it reads the state
    without the lock and bumps no version."""

    state_access = StateAccess.READ
    log_action = ACTION_REQUEST

    def __init__(self, *, user: Any = None, company_id: str | None = None,
                 license_version: str | None = None, site: Site | None = None) -> None:
        super().__init__(user=user)
        self.company_id = company_id
        self.license_version = license_version
        self.site = site

    def _run(self) -> LicenseRequest:
        state = self.state
        installed = state.installed_file
        company_id = (self.company_id or (installed.company_id if installed else "")
                      or licensing_settings.COMPANY_ID or "").strip()
        if not company_id:
            raise InvalidLicenseRequest(_("Enter the company ID your vendor gave you: it is "
                                          "needed to issue your license."))
        license_version = (self.license_version or default_license_version(installed)).strip()
        site = self.site or Site.objects.filter(is_default_site=True).first()
        products = []
        if installed:
            for product in LicensedProduct.objects.filter(license_file=installed).with_usage():
                products.append({"code": product.code, "type": product.type,
                                 "seats": product.seats, "used": product.in_use})
        now = timezone.now()
        data = {
            "type": "wagtail-licensing/license-request",
            "format": 1,
            "company_id": company_id,
            "instance_id": str(state.instance_id),
            "license_version": license_version,
            "generated_at": now.isoformat(),
            "generated_by": self.user.get_username() if self.user else None,
            "site": {"name": site.site_name if site else None,
                     "hostname": site.hostname if site else None},
            "installed_license_id": installed.license_id if installed else None,
            "usage": products,
            "active_users": get_user_model()._default_manager.filter(is_active=True).count(),
            # Peaks over the last 90 days of daily snapshots, for sizing a renewal.
            "usage_summary": usage_summary(),
            "software": {"wagtail-licensing": __version__, "wagtail": wagtail.__version__,
                         "django": django.get_version(), "python": platform.python_version()},
        }
        return LicenseRequest(
            filename=safe_filename(f"LicenseRequest-{company_id}-{site_date(now):%Y%m%d}.tlr"),
            data=data)

    def logs(self, result: LicenseRequest) -> bool:
        return True

    def log_data(self, result: LicenseRequest) -> dict[str, Any]:
        return {"company_id": result.data["company_id"],
                "license_version": result.data["license_version"],
                "filename": result.filename}

    def hooks(self, result: LicenseRequest) -> list[tuple[str, dict[str, Any]]]:
        return [(AFTER_LICENSE_REQUEST_CREATED, {"request": result})]

    def hooks_returned(self, result: LicenseRequest, returned: list[Any]) -> None:
        result.hook_results = returned
