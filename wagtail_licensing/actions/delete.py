"""Delete the installed licenses: the site runs in demo mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..exceptions import LicenseRefused
from ..models import LicenseFile
from .base import LicensingAction

ACTION_DELETE = "wagtail_licensing.delete"
AFTER_LICENSES_DELETED = "after_licenses_deleted"


@dataclass
class DeleteResult:
    license_file: LicenseFile  # the file that was installed
    changed: bool = True


class DeleteAction(LicensingAction[DeleteResult]):
    """History and assignments are kept, so uploading a file again restores them."""

    log_action = ACTION_DELETE

    def _run(self) -> DeleteResult:
        state = self.state
        previous = state.installed_file
        if previous is None:
            raise LicenseRefused(_("No license is installed, so there is nothing to delete."))
        state.installed_file = None
        state.save(update_fields=["installed_file"])
        return DeleteResult(license_file=previous)

    def log_data(self, result: DeleteResult) -> dict[str, Any]:
        return {
            "license_id": result.license_file.license_id,
            "products": list(result.license_file.products.values_list("code", flat=True)),
        }

    def hooks(self, result: DeleteResult) -> list[tuple[str, dict[str, Any]]]:
        return [(AFTER_LICENSES_DELETED, {"license_file": result.license_file})]
