"""Registration only: permissions and audit log actions (screens are registered with them)."""

from django.contrib.auth.models import Permission
from wagtail import hooks

from . import log_formatters, menu


@hooks.register("register_permissions")
def register_permissions():
    return Permission.objects.filter(
        content_type__app_label="wagtail_licensing", codename="can_manage_lic_users"
    )


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, formatter in log_formatters.FORMATTERS.items():
        actions.register_action(action)(formatter)




@hooks.register("register_admin_menu_item")
def register_licensing_menu():
    return menu.licensing_menu_item()
