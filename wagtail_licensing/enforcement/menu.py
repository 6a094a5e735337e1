"""Features users have no license for: their admin URLs are refused and their menu items hidden;
license managers without a license see only the Licensing menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .access import Access, AdminAccess, features

LICENSING_MENU_NAME = "licensing"


def blocked_feature(access: Access, path: str) -> str | None:
    """The name of a feature whose admin URL prefixes cover ``path`` and the user lacks."""
    for name, spec in features().items():
        if name in access.features:
            continue
        if any(path.startswith(prefix) for prefix in spec.admin_url_prefixes):
            return name
    return None


def hidden_menu_items(access: Access) -> set[str]:
    """Names of menu items the user must not see (features they have no license for)."""
    hidden: set[str] = set()
    for name, spec in features().items():
        if name not in access.features:
            hidden |= spec.menu_items
    return hidden


def filter_menu_items(request: HttpRequest, menu_items: list[Any],
                      main_menu: bool = False) -> None:
    """Hide the menu items of features the user has no license for; license managers without
    a license see only the Licensing menu. Needs the middleware (it knows the user's access)."""
    access = getattr(request, "wagtail_licensing", None)
    if access is None:
        return
    if main_menu and access.admin == AdminAccess.LICENSING:
        menu_items[:] = [item for item in menu_items if item.name == LICENSING_MENU_NAME]
        return
    hidden = hidden_menu_items(access)
    if hidden:
        menu_items[:] = [item for item in menu_items if item.name not in hidden]
