"""Helpers shared by the System users, bulk actions, Licenses tab and portal user tests."""

import re
from html import unescape as unescape_html

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.utils.html import strip_tags

from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment


def text(html):
    """Visible text, entities decoded, whitespace collapsed."""
    spaced = re.sub(r"<(/?)(li|p|ul|div|br)\b", r" <\1\2", str(html))
    return re.sub(r"\s+", " ", unescape_html(strip_tags(spaced))).strip()


def messages_of(response):
    """The messages a response added (or that its redirect will show), as plain text."""
    return [(message.level_tag, text(str(message)))
            for message in get_messages(response.wsgi_request)]


def holders(code):
    return set(LicenseAssignment.objects.filter(product_code=code).values_list(
        "user__username", flat=True))


def give_license(user, code="analytics"):
    """Give an acting user a license (enforcement lets only licensed users use Wagtail's own
    screens, such as Settings > Users)."""
    operations.grant(get_user_model()._default_manager.filter(pk=user.pk), [code])
    return user


def user_admins_group(manage=False):
    """A group that may manage accounts in Settings > Users, optionally license managers too."""
    name = "User admins and license managers" if manage else "User admins"
    group = Group.objects.create(name=name)
    codenames = [("wagtailadmin", "access_admin"), ("auth", "add_user"),
                 ("auth", "change_user"), ("auth", "delete_user")]
    if manage:
        codenames.append(("wagtail_licensing", "can_manage_lic_users"))
    for app_label, codename in codenames:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                     codename=codename))
    return group


def checkbox(html, value, name="wagtail_licensing-products"):
    """The ``<input>`` tag of one product checkbox."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"[^>]*>', html)
    assert match, f"no checkbox {name}={value}"
    return match.group(0)
