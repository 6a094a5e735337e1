"""List what the translation catalogues still lack, per language.

    python scripts/untranslated.py            # every language under wagtail_licensing/locale
    python scripts/untranslated.py de fr      # only these

For each catalogue (``wagtail_licensing/locale/<lang>/LC_MESSAGES/django.po``): the messages
with no translation (or a plural form left empty), the fuzzy ones (``makemessages`` guessed
them from a similar message: check and clear the flag), and whether the compiled ``django.mo``
matches the ``.po``. Exits 1 if anything is listed. ``make messages`` first brings the
catalogues up to date with the code (``makemessages``), compiles them and runs this.

Pure Python (no gettext tools, no polib): ``tests/project/test_translations.py`` uses the same
reader.
"""

from __future__ import annotations

import ast
import gettext
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parents[1] / "wagtail_licensing" / "locale"
PLACEHOLDER_RE = re.compile(r"%\([A-Za-z0-9_]+\)[sdif]|\{[A-Za-z0-9_]*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def translated(self) -> bool:
        if self.msgid_plural is not None:
            return bool(self.msgstr_plural) and all(self.msgstr_plural.values())
        return bool(self.msgstr)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    def translations(self) -> list[str]:
        if self.msgid_plural is not None:
            return [self.msgstr_plural[i] for i in sorted(self.msgstr_plural)]
        return [self.msgstr]


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, its header (msgid "") first; obsolete (#~) entries left out."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None
    seen_msgid = False

    def finish() -> None:
        nonlocal entry, seen_msgid, target
        if seen_msgid:
            entries.append(entry)
        entry, seen_msgid, target = Entry(), False, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            if seen_msgid:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            if seen_msgid and not line.startswith("#~"):
                finish()
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        value = ast.literal_eval(rest) if rest else ""
        if keyword == "msgctxt":
            if seen_msgid:
                finish()
            entry.msgctxt, target = value, ("msgctxt", None)
        elif keyword == "msgid":
            if seen_msgid:
                finish()
            entry.msgid, target, seen_msgid, entry.line = value, ("msgid", None), True, number
        elif keyword == "msgid_plural":
            entry.msgid_plural, target = value, ("msgid_plural", None)
        elif keyword == "msgstr":
            entry.msgstr, target = value, ("msgstr", None)
        elif keyword.startswith("msgstr["):
            index = int(keyword[7:-1])
            entry.msgstr_plural[index], target = value, ("msgstr_plural", index)
        elif keyword == "" and target is not None:
            name, index = target
            if name == "msgstr_plural" and index is not None:
                entry.msgstr_plural[index] += value
            else:
                setattr(entry, name, getattr(entry, name) + value)
    finish()
    return entries


def mo_problems(po_path: Path, entries: list[Entry]) -> list[str]:
    """What differs between the .po's translations and its compiled .mo."""
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path.name} is missing"]
    with mo_path.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in entries:
        if not entry.msgid or entry.fuzzy or not entry.translated:
            continue  # msgfmt leaves fuzzy and untranslated entries out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is not None:
            for index, text in entry.msgstr_plural.items():
                expected[(msgid, index)] = text
        else:
            expected[msgid] = entry.msgstr
    compiled = {key: value for key, value in catalog.items() if key != ""}
    if compiled != expected:
        stale = sorted(
            str(k)
            for k in expected.keys() ^ compiled.keys()
            or [k for k in expected if expected[k] != compiled.get(k)]
        )
        return [
            f"{mo_path.name} does not match {po_path.name} (compile it again): "
            f"{len(stale)} messages differ, e.g. {stale[:3]}"
        ]
    return []


def placeholder_problems(entry: Entry) -> list[str]:
    """Translations whose %(name)s / {name} placeholders differ from the English."""
    problems = []
    if entry.msgid_plural is None:
        pairs = [(entry.msgid, entry.msgstr)]
    else:
        # msgstr[0] follows the singular, the other forms the plural (a singular may leave
        # out the count, as English "one seat" may).
        pairs = [
            (entry.msgid + entry.msgid_plural if i == 0 else entry.msgid_plural, text)
            for i, text in sorted(entry.msgstr_plural.items())
        ]
    for english, text in pairs:
        if not text:
            continue
        wanted, found = set(PLACEHOLDER_RE.findall(english)), set(PLACEHOLDER_RE.findall(text))
        if not found <= wanted or (entry.msgid_plural is None and found != wanted):
            problems.append(
                f"line {entry.line}: placeholders {sorted(found)} in the "
                f"translation of {entry.msgid!r}, {sorted(wanted)} in the English"
            )
    return problems


def catalogue_problems(language: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every problem of one language's catalogue, each a line for a person."""
    po_path = locale_dir / language / "LC_MESSAGES" / "django.po"
    if not po_path.exists():
        return [f"{po_path} is missing"]
    entries = read_po(po_path)
    problems = []
    for entry in entries:
        if not entry.msgid:
            if entry.fuzzy:
                problems.append(
                    "the header is marked fuzzy: msgfmt would leave it out, and "
                    "with it the plural forms"
                )
            continue
        if entry.fuzzy:
            problems.append(f"line {entry.line}: fuzzy: {entry.msgid!r}")
        elif not entry.translated:
            problems.append(f"line {entry.line}: untranslated: {entry.msgid!r}")
        problems.extend(placeholder_problems(entry))
    problems.extend(mo_problems(po_path, entries))
    return problems


def languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    return sorted(p.parent.parent.name for p in locale_dir.glob("*/LC_MESSAGES/django.po"))


def main(argv: list[str]) -> int:
    failed = False
    for language in argv or languages():
        problems = catalogue_problems(language)
        print(f"{language}: {len(problems) or 'complete'}" + (" problems" if problems else ""))
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
