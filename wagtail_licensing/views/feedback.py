"""Turn ``(level, text)`` messages (from ``wagtail_licensing.wording``) into Wagtail messages.

Every grant and recall surface (bulk actions, a product's lists, the Licenses tab, System users'
user page, portal users) reports through ``report``, so that a result reads the same
everywhere: what was done is one success message, and what was refused or skipped is one
warning beside it, each written as sentences rather than a red box with the successes listed
under it. Only when nothing was done does a refusal keep its own level (an error stays red).
"""


from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html_join
from wagtail.admin.messages import render

SEVERITY = {"success": 0, "info": 1, "warning": 2, "error": 3}
LEVELS = {"success": messages.SUCCESS, "info": messages.INFO, "warning": messages.WARNING,
          "error": messages.ERROR}


def group(pairs: Iterable[tuple[str, object]]) -> list[tuple[str, list[str]]]:
    """``(level, texts)`` per message to show, in the order: done, then refused.

    Successes (and any information beside them) make one success message; warnings and errors
    make one problem message, a warning when something else was done, else of the most severe
    level among them.
    """
    shown = [(level, str(text)) for level, text in pairs if text]
    done = [text for level, text in shown if level == "success"]
    notes = [text for level, text in shown if SEVERITY.get(level, 1) == 1]
    problems = [(level, text) for level, text in shown if SEVERITY.get(level, 1) > 1]
    out: list[tuple[str, list[str]]] = []
    if done:
        out.append(("success", done + notes))
    elif notes:
        out.append(("info", notes))
    if problems:
        level = "warning" if done else max((lvl for lvl, _t in problems),
                                           key=lambda name: SEVERITY[name])
        out.append((level, [text for _level, text in problems]))
    return out


def report(request: HttpRequest, pairs: Iterable[tuple[str, object]]) -> None:
    """Show ``pairs`` (as returned by ``wording.grant_messages`` and friends), at most one
    message per level group (see ``group``).

    Texts are escaped: they name users and products, which come from accounts and license
    files.
    """
    for level, texts in group(pairs):
        body = format_html_join(" ", "{}", ((text,) for text in texts))
        messages.add_message(request, LEVELS.get(level, messages.INFO), render(body, None))
