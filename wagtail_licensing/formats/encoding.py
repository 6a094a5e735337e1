"""Text encodings of uploaded files: what Excel and LibreOffice write when asked for CSV."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..exceptions import InvalidImportFile

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def decode_text(content: bytes) -> str:
    """UTF-8 with or without the BOM Excel writes; UTF-16 when it starts with its BOM.

    Raises ``InvalidImportFile`` saying how to save the file as UTF-8: guessing a legacy code
    page would import wrong names without a word.
    """
    encoding = "utf-16" if content[:2] in _UTF16_BOMS else "utf-8-sig"
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidImportFile(
            _("The file is not UTF-8 text (byte %(pos)d cannot be read). In Excel, save it as "
              "\"CSV UTF-8 (Comma delimited)\"; in LibreOffice, choose the character set "
              "\"Unicode (UTF-8)\"; or upload the .xlsx file itself.") % {"pos": exc.start + 1}
        ) from exc
