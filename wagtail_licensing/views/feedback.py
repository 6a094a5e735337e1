"""Turn ``(level, text)`` messages (from ``wagtail_licensing.wording``) into one Wagtail message.

The first message is the headline; the others are listed under it. The message takes the most
severe level among them, so that a refusal is never shown in green.
"""


from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from wagtail.admin.messages import render

SEVERITY = {"success": 0, "info": 1, "warning": 2, "error": 3}
LEVELS = {"success": messages.SUCCESS, "info": messages.INFO, "warning": messages.WARNING,
          "error": messages.ERROR}


def report(request: HttpRequest, pairs: Iterable[tuple[str, object]]) -> None:
    """Show ``pairs`` (as returned by ``wording.grant_messages`` and friends) as one message.

    Texts are escaped: they name users and products, which come from accounts and license
    files.
    """
    shown = [(level, str(text)) for level, text in pairs if text]
    if not shown:
        return
    level = max((level for level, _text in shown), key=lambda name: SEVERITY.get(name, 1))
    headline, *details = [text for _level, text in shown]
    detail = ""
    if details:
        detail = format_html('<ul class="w-mt-2">{}</ul>',
                             format_html_join("", "<li>{}</li>", ((text,) for text in details)))
    messages.add_message(request, LEVELS.get(level, messages.INFO),
                         render(headline, None, detail))
