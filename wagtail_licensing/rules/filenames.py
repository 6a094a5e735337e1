"""Download file names: one rule for every file the site hands out or writes.

Names are built from text the site does not control (license IDs are the vendor's, company IDs
are typed by managers), and end up in a ``Content-Disposition`` header, in a browser's downloads
folder and, from the command, on disk.
"""

from __future__ import annotations

import unicodedata

# Bytes, not characters: file systems limit a name to 255 bytes, and browsers add " (1)".
MAX_BYTES = 200
_KEPT = frozenset("-_.")
# Windows opens a device, not a file, for these stems (whatever the extension).
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                       *(f"LPT{i}" for i in range(1, 10))})


def safe_filename(name: str, *, default: str = "download") -> str:
    """``name`` with only letters, digits, ``-``, ``_`` and ``.``; ``default`` if nothing is left.

    Every other character (path separators, quotes, spaces, control characters, line breaks)
    becomes ``_``, so the name can neither leave the folder, nor break or add a header line.
    Letters of any script are kept (NFC, so an accent is part of its letter). A leading ``.``
    or ``-`` (a hidden file, ``..``, a command-line option) and a Windows device name get a
    ``_`` in front; a long name is shortened, its extension kept.
    """
    text = unicodedata.normalize("NFC", name or "")
    cleaned = "".join(ch if ch.isalnum() or ch in _KEPT else "_" for ch in text)
    if not cleaned.strip("_"):
        return default
    if cleaned[0] in ".-" or cleaned.split(".", 1)[0].upper() in _RESERVED:
        cleaned = "_" + cleaned
    return _shorten(cleaned)


def _shorten(name: str) -> str:
    if len(name.encode()) <= MAX_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > MAX_BYTES // 4:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = MAX_BYTES - len(suffix.encode())
    # Cut at a byte count without splitting a character.
    return stem.encode()[:room].decode(errors="ignore") + suffix
