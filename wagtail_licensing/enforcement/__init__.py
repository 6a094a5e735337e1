"""The license check: who may use the admin and which features, decided once and cached.

``access`` decides (pure), ``snapshot`` caches the decision and invalidates it, ``gate`` checks
one admin request for the middleware, ``sessions`` holds concurrent slots for signed-in
sessions, ``responses`` answers unlicensed users, ``menu`` hides what they may not use, and
``signals`` connects every receiver of the app. Site code imports from here; the submodules
import each other, never this package.
"""

from .access import Access, AdminAccess, Reason, admin_product_codes, compute_access, features
from .dismissals import alert_key, split_dismissed
from .menu import blocked_feature, filter_menu_items, hidden_menu_items
from .responses import (
    LICENSE_MANAGER_URL_NAME,
    license_contact,
    license_manager_url,
    license_managers,
    license_required,
    no_license_response,
)
from .snapshot import (
    banner_alerts,
    get_access,
    has_feature,
    has_license,
    invalidate_all_users,
    invalidate_user,
    lookup,
    site_snapshot,
)

__all__ = [
    "LICENSE_MANAGER_URL_NAME",
    "Access",
    "AdminAccess",
    "Reason",
    "admin_product_codes",
    "alert_key",
    "banner_alerts",
    "blocked_feature",
    "compute_access",
    "features",
    "filter_menu_items",
    "get_access",
    "has_feature",
    "has_license",
    "hidden_menu_items",
    "invalidate_all_users",
    "invalidate_user",
    "license_contact",
    "license_manager_url",
    "license_managers",
    "license_required",
    "lookup",
    "no_license_response",
    "site_snapshot",
    "split_dismissed",
]
