"""The German, French and Spanish catalogues are complete, current and compiled.

Complete: every message translated, none fuzzy, placeholders as in the English. Compiled: the
committed .mo says what the .po says (read with Python's gettext, no gettext tools needed).
Current: ``makemessages`` run on the code now finds the same messages as the committed .po
(needs xgettext, so skipped where gettext is not installed).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext, ngettext

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wagtail_licensing"
LANGUAGES = ("de", "fr", "es")
HOW_TO_UPDATE = (
    "Run `make messages` (makemessages, compilemessages, then scripts/untranslated.py lists "
    "what to translate), translate what it lists in wagtail_licensing/locale/<lang>/"
    "LC_MESSAGES/django.po, run `make messages` again and commit the .po and .mo files "
    "(docs/translations.md)."
)

_spec = importlib.util.spec_from_file_location("untranslated", ROOT / "scripts" / "untranslated.py")
assert _spec and _spec.loader
untranslated = importlib.util.module_from_spec(_spec)
sys.modules["untranslated"] = untranslated
_spec.loader.exec_module(untranslated)


def test_the_languages_shipped():
    assert set(untranslated.languages()) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete_and_compiled(language):
    problems = untranslated.catalogue_problems(language)
    assert not problems, (
        f"The {language} catalogue has {len(problems)} problems:\n  "
        + "\n  ".join(problems[:20])
        + f"\n{HOW_TO_UPDATE}"
    )


@pytest.mark.skipif(
    shutil.which("xgettext") is None,
    reason="makemessages needs GNU gettext (apt-get install gettext)",
)
def test_catalogues_hold_every_message_of_the_code(tmp_path):
    # makemessages on a copy of the package, so that the committed catalogues stay untouched.
    copy = tmp_path / "wagtail_licensing"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "--no-obsolete",
            "--add-location=file",
            *(f"-l{language}" for language in LANGUAGES),
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    assert done.returncode == 0, done.stderr
    for language in LANGUAGES:
        relative = Path(language) / "LC_MESSAGES" / "django.po"
        fresh = {e.key for e in untranslated.read_po(copy / "locale" / relative) if e.msgid}
        committed = {e.key for e in untranslated.read_po(PACKAGE / "locale" / relative) if e.msgid}
        new, gone = sorted(fresh - committed, key=str), sorted(committed - fresh, key=str)
        assert not new and not gone, (
            f"wagtail_licensing/locale/{relative} is not current: {len(new)} messages of the "
            f"code are missing from it (e.g. {[k[1] for k in new[:5]]}), {len(gone)} of its "
            f"messages are no longer in the code (e.g. {[k[1] for k in gone[:5]]}).\n"
            f"{HOW_TO_UPDATE}"
        )


def test_the_reader_reports_untranslated_fuzzy_and_stale_catalogues(tmp_path):
    po = tmp_path / "xx" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "Users"\nmsgstr ""\n\n'
        '#, fuzzy, python-format\nmsgid "%(n)s seats"\nmsgstr "%(n)s Plätze"\n\n'
        '#, python-format\nmsgid "%(used)d of %(total)d seat"\nmsgid_plural '
        '"%(used)d of %(total)d seats"\nmsgstr[0] "%(used)d von %(total)d Platz"\n'
        'msgstr[1] ""\n\n'
        '#, python-format\nmsgid "Hello %(name)s"\nmsgstr "Hallo %(nom)s"\n',
        encoding="utf-8",
    )
    problems = untranslated.catalogue_problems("xx", tmp_path)
    text = "\n".join(problems)
    assert "untranslated: 'Users'" in text
    assert "fuzzy: '%(n)s seats'" in text
    assert "untranslated: '%(used)d of %(total)d seat'" in text
    assert "placeholders ['%(nom)s']" in text
    assert "django.mo is missing" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", ("Lizenzmanager", "2 von 3 Plätzen belegt")),
        ("fr", ("Gestionnaire de licences", "2 sièges sur 3 utilisés")),
        ("es", ("Administrador de licencias", "2 de 3 puestos usados")),
    ],
)
def test_the_compiled_catalogues_are_what_django_reads(language, expected):
    with translation.override(language):
        assert (
            gettext("License manager"),
            ngettext("%(used)d of %(total)d seat used", "%(used)d of %(total)d seats used", 3)
            % {"used": 2, "total": 3},
        ) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Ihr Konto hat keine Lizenz"),
        ("fr", "Votre compte n’a pas de licence"),
        ("es", "Su cuenta no tiene licencia"),
    ],
)
def test_the_no_license_page_is_in_the_users_language(
    client, installed, editor, language, expected
):
    # The middleware answers before any admin view: it chooses the language itself.
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(editor)
    profile.preferred_language = language
    profile.save()
    client.force_login(editor)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert expected in response.content.decode()
