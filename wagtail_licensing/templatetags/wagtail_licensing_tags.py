"""Template tags: ``{% load wagtail_licensing_tags %}``.

``{% has_license "code" as ok %}`` (one code or several: true when the user holds any) and
``{% has_feature "forms" as ok %}`` check the current user (``request.user``, else ``user``).
"""

import json
from typing import Any

from django import template
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.template import Context

from ..enforcement import banner_alerts
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


@register.inclusion_tag("wagtail_licensing/enforcement/banner.html", takes_context=True)
def licensing_banner(context: Context) -> dict[str, Any]:
    """License warnings for license managers, shown as Wagtail messages on every admin page."""
    request = context.get("request")
    access = getattr(request, "wagtail_licensing", None)
    alerts = banner_alerts(access)
    if alerts and request is not None:
        # Not twice on one page: the same text may be a message already (e.g. at login).
        shown = {str(message) for message in get_messages(request)}
        alerts = [alert for alert in alerts if str(alert.message) not in shown]
    return {"alerts": [
        {"kind": alert.kind,
         "detail": json.dumps({"type": alert.level, "text": str(alert.message)})}
        for alert in alerts
    ]}
