"""Turn an operation's ``(level, text)`` messages into one Wagtail message.

The first message is the headline; the others are listed under it. The message takes the most
severe level among them, so that a refusal is never shown in green.
"""

from django.utils.html import format_html, format_html_join
from wagtail.admin import messages

LEVELS = {"success": 0, "info": 1, "warning": 2, "error": 3}
SENDERS = {"success": messages.messages.success, "info": messages.messages.info,
           "warning": messages.messages.warning, "error": messages.messages.error}


def report(request, pairs):
    """Show ``pairs`` (as returned by ``GrantResult.messages()`` and friends) as one message."""
    pairs = [(level, str(text)) for level, text in pairs if text]
    if not pairs:
        return
    level = max((level for level, _text in pairs), key=lambda name: LEVELS.get(name, 1))
    headline, *details = [text for _level, text in pairs]
    detail = ""
    if details:
        detail = format_html('<ul class="w-mt-2">{}</ul>',
                             format_html_join("", "<li>{}</li>", ((text,) for text in details)))
    SENDERS.get(level, messages.messages.info)(request, messages.render(headline, None, detail))
