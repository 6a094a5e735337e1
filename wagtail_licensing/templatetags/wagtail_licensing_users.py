"""Template tags of the System users listing, the bulk actions and the Licenses tab."""

import re
from typing import Any

from django import template
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.template import Context
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.admin.widgets.button import Button, ButtonWithDropdown, ListingButton

from ..permissions import can_manage_licenses
from ..user_forms import UserLicensesForm
from ..views.bulk_actions.base import licensing_bulk_action_url

register = template.Library()


def _is_shown(action_class: type[BulkAction], request: HttpRequest) -> bool:
    is_shown = getattr(action_class, "is_shown", None)
    return is_shown(request) if is_shown is not None else True


@register.inclusion_tag("wagtailadmin/shared/buttons.html", takes_context=True)
def licensing_bulk_action_choices(context: Context, app_label: str, model_name: str,
                                  licensing_only: bool = False) -> dict[str, Any]:
    """Wagtail's ``bulk_action_choices``, leaving out actions the user may not use.

    Why a copy stays: Wagtail's (8.0 and 7.0) lists every registered action to everybody, with
    Wagtail's generic URLs, which license managers without a license of their own cannot reach.

    Actions declaring ``is_shown(request)`` (Grant and Recall licenses) appear only when it
    says so; with ``licensing_only`` only licensing actions are listed (System users).
    """
    request = context["request"]
    actions = [
        action for action in bulk_action_registry.get_bulk_actions_for_model(app_label,
                                                                             model_name)
        if _is_shown(action, request)
        and (not licensing_only or getattr(action, "licensing_action", False))
    ]
    actions.sort(key=lambda action: action.action_priority)
    shown, more = actions[:4], actions[4:]

    # Wagtail 7's bulk-actions script appends the selection to the URL after a "?next=" it
    # expects there; Wagtail 8's replaces the whole query string. Carrying "next" serves both.
    next_url = get_valid_next_url_from_request(request) or request.path

    def url(action: type[BulkAction]) -> str:
        if getattr(action, "licensing_action", False):
            base = licensing_bulk_action_url(action.action_type)
        else:
            base = reverse("wagtail_bulk_action",
                           args=[app_label, model_name, action.action_type])
        return f"{base}?{urlencode({'next': next_url})}"

    buttons = [
        ListingButton(
            action.display_name, url(action),
            attrs={"aria-label": action.aria_label, "data-bulk-action-button": ""},
            priority=action.action_priority,
            classname=" ".join(action.classes | {"bulk-action-btn"}),
        )
        for action in shown
    ]
    if more:
        buttons.append(ButtonWithDropdown(
            label=_("More"), attrs={"title": _("More bulk actions")},
            classname="button button-secondary button-small",
            buttons=[
                Button(label=action.display_name, url=url(action),
                       attrs={"aria-label": action.aria_label, "data-bulk-action-button": ""},
                       priority=action.action_priority)
                for action in more
            ],
        ))
    return {"buttons": buttons}


@register.simple_tag(takes_context=True)
def licenses_tab_form(context: Context, user: AbstractBaseUser | None
                      ) -> UserLicensesForm | None:
    """The Licenses tab's form for ``user``, or None if the viewer may not manage licenses.

    After a failed save of the user form, the tab shows what the manager had ticked.
    """
    request = context.get("request")
    if request is None or user is None or user.pk is None:
        return None
    if not can_manage_licenses(request.user):
        return None
    prefix = UserLicensesForm.prefix
    if request.method == "POST" and f"{prefix}-present" in request.POST:
        return UserLicensesForm(request.POST, user=user)
    return UserLicensesForm(user=user)


# Wagtail's user edit page renders its tabs in one block (form_content) with no block, hook or
# viewset option for a third: the Licenses tab is added to what that block renders, after the
# last tab link of its tablist and after its last panel, instead of copying the template.
_LAST_TAB_LINK = re.compile(r'(role="tablist".*</a>)(.*?class="tab-content")', re.S)
_LAST_PANEL = re.compile(r"(.*</section>)", re.S)


@register.filter
def with_licenses_tab(tabs: str, licenses_form: UserLicensesForm | None) -> SafeString:
    """Wagtail's rendered tabs (``{{ block.super }}``) with the Licenses tab added.

    Unchanged when ``licenses_form`` is None (the viewer may not manage licenses).
    """
    tabs = conditional_escape(tabs)  # block.super is safe already; anything else is escaped
    if not licenses_form:
        return tabs
    context = {"licenses_form": licenses_form}
    nav = render_to_string("wagtail_licensing/users/licenses_tab_nav.html", context)
    panel = render_to_string("wagtail_licensing/users/licenses_tab_panel.html", context)
    tabs, nav_added = _LAST_TAB_LINK.subn(lambda m: m[1] + nav + m[2], tabs, count=1)
    tabs, panel_added = _LAST_PANEL.subn(lambda m: m[1] + panel, tabs, count=1)
    if not (nav_added and panel_added):
        raise template.TemplateSyntaxError(
            "wagtail_licensing: Wagtail's user edit tabs have no tablist or panel to add the "
            "Licenses tab to.")
    # Escaped (or safe) markup with two rendered templates inserted: safe.
    return mark_safe(tabs)  # noqa: S308
