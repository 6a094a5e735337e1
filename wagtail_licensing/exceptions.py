"""The errors a user can cause. Each carries a message written for that user.

This module imports nothing from Django but its core exceptions, which need no configured
project, so that `license_file` (and the vendor's tool) can use it anywhere.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _


class LicensingError(Exception):
    """Base class: `message` is shown to the user as it is."""

    def __init__(self, message: object) -> None:
        super().__init__(message)
        self.message = str(message)

    def __str__(self) -> str:
        return self.message


class InvalidLicenseFile(LicensingError):
    """The file is malformed, tampered with, signed by an unknown key or of a newer format."""


class LicenseRefused(LicensingError):
    """A valid file that this site must not install (another site, company, a downgrade...)."""


class AlreadyInstalled(LicensingError):
    """The very same license file is installed already: nothing to change."""


class InvalidLicenseRequest(LicensingError):
    """A license request cannot be generated from what was given."""


class GrantError(LicensingError):
    """A grant or recall cannot be carried out at all (e.g. unknown product)."""


class InvalidImportFile(LicensingError):
    """An assignments file cannot be read: unknown format, no user or product column, too big."""


class ImportRefused(LicensingError):
    """An assignments import has row errors, so nothing was applied. ``plan`` lists them."""

    def __init__(self, message: object, plan: Any = None) -> None:
        super().__init__(message)
        self.plan = plan


class ImportOutdated(LicensingError):
    """Licensing changed between an import's preview and its confirmation: preview it again."""


class PortalUserError(LicensingError):
    """A portal user account cannot be created, or a user cannot be converted into one."""


class NoFreeSlot(LicensingError):
    """Every concurrent-license slot the user could take is in use."""


class LicensingPermissionDenied(PermissionDenied):
    """The acting user may not change licenses (no CanManageLicUsers). A ``PermissionDenied``,
    so that Wagtail's admin answers with its usual "no permission" page or redirect."""

    def __init__(self, user: Any = None) -> None:
        name = user.get_username() if user is not None else ""
        self.user = user
        self.message = str(
            _("%(user)s may not manage licenses: that needs the CanManageLicUsers permission "
              "(Can manage user licenses), given through a group in Settings > Groups.")
            % {"user": name or _("This user")})
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
