"""The Licensing menu as Wagtail's admin menu registers it (through the viewset group)."""

from wagtail.admin.menu import admin_menu


def licensing_menu():
    """The registered "Licensing" item of the main menu (a submenu)."""
    return next(item for item in admin_menu.registered_menu_items if item.name == "licensing")


def licensing_menu_items(request):
    """``{name: item}`` of the Licensing menu's entries this request's user sees."""
    return {item.name: item for item in licensing_menu().menu.menu_items_for_request(request)}
