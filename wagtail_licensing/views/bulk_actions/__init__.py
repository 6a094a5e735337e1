"""Grant and recall licenses for many users at once, as Wagtail bulk actions on users."""

from .grant import GrantLicensesBulkAction
from .recall import RecallLicensesBulkAction
from .recall_idle import RecallIdleSeatsBulkAction

__all__ = ["GrantLicensesBulkAction", "RecallIdleSeatsBulkAction", "RecallLicensesBulkAction"]
