"""Template tags: ``{% load wagtail_licensing_tags %}``.

``{% has_license "code" as ok %}`` (one code or several: true when the user holds any) and
``{% has_feature "forms" as ok %}`` check the current user (``request.user``, else ``user``).
"""

from typing import Any

from django import template
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.template import Context
from django.utils import timezone

from ..enforcement import alert_key, banner_alerts, split_dismissed
from ..enforcement import has_feature as user_has_feature
from ..enforcement import has_license as user_has_license

register = template.Library()


def _user_and_request(context: Context) -> tuple[Any, HttpRequest | None]:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return user, request


@register.simple_tag(takes_context=True)
def has_license(context: Context, *codes: str) -> bool:
    user, request = _user_and_request(context)
    return user_has_license(user, *codes, request=request)


@register.simple_tag(takes_context=True)
def has_feature(context: Context, name: str) -> bool:
    user, request = _user_and_request(context)
    return user_has_feature(user, name, request=request)


# The page editor: nothing may distract from editing there, warnings included.
QUIET_VIEWS = frozenset({
    "wagtailadmin_pages:add", "wagtailadmin_pages:edit", "wagtailadmin_pages:revisions_revert",
    "wagtailadmin_pages:preview_on_add", "wagtailadmin_pages:preview_on_edit",
})


@register.inclusion_tag("wagtail_licensing/enforcement/banner.html", takes_context=True)
def licensing_banner(context: Context) -> dict[str, Any]:
    """License warnings for license managers, among Wagtail's messages on every admin page but
    the page editor: each fact once per page (not when the page's messages or the page itself
    say it already), each dismissible for a day (``enforcement.dismissals``)."""
    request = context.get("request")
    access = getattr(request, "wagtail_licensing", None)
    alerts = list(banner_alerts(access))
    if not alerts or request is None:
        return {"alerts": []}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in QUIET_VIEWS:
        return {"alerts": []}
    # Not twice on one page: the same text may be a message already (e.g. at login), or the
    # page may state the fact itself (a product page says it is over-allocated).
    shown = {str(message) for message in get_messages(request)}
    on_page = set(context.get("licensing_alerts_shown") or ())
    # Each alert's text is translated and formatted once (it is a lazy string).
    texts = {id(alert): str(alert.message) for alert in alerts}
    alerts = [alert for alert in alerts
              if texts[id(alert)] not in shown and alert_key(alert) not in on_page]
    now = timezone.now()
    shown_alerts, _hidden = split_dismissed(alerts, request.user, now)
    return {
        "shown_at": now.isoformat(),
        "alerts": [{"kind": alert.kind, "key": alert_key(alert), "level": alert.level,
                    "text": texts[id(alert)]} for alert in shown_alerts],
    }
