"""Every licensing screen in German, French and Spanish: no English left from the catalogue.

One browser session per language: the manager's preferred language (Wagtail's UserProfile) is
set, and the walk opens every licensing screen, the Licenses tab, the upload and import
previews and a bulk grant with its message. Each screen's visible text is searched for the
English of the catalogue's messages (the literal parts between placeholders and tags, of a
dozen characters or more, that the translations do not contain themselves): one found means a
string the screen shows untranslated.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
from wagtail.users.models import UserProfile

from tests.support.licenses import product
from wagtail_licensing import operations

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # What it checks is the catalogues against the screens, the same on every database: the
    # SQLite run covers it (CI's time).
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                       reason="catalogues against screens: the SQLite run covers it"),
]

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("untranslated", ROOT / "scripts" / "untranslated.py")
assert _spec and _spec.loader
untranslated = importlib.util.module_from_spec(_spec)
sys.modules["untranslated"] = untranslated
_spec.loader.exec_module(untranslated)

SPLIT_RE = re.compile(r"%\(\w+\)[sdif]|\{\w*\}|<[^>]+>|&\w+;")
MIN_LENGTH = 12


def english_fragments(language: str) -> set[str]:
    """The English a screen in `language` must not show: literal parts of the catalogue's
    messages, long enough to be telling, that no translation of the catalogue contains (so
    "CSV (Excel, LibreOffice)" or "manage.py licensing snapshot" are not counted)."""
    po = ROOT / "wagtail_licensing" / "locale" / language / "LC_MESSAGES" / "django.po"
    entries = [e for e in untranslated.read_po(po) if e.msgid]
    translated = "\n".join(" ".join(text.split()) for e in entries for text in e.translations())
    fragments = set()
    for entry in entries:
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            for part in SPLIT_RE.split(english):
                part = " ".join(part.split()).strip(" .,:;()")
                if len(part) >= MIN_LENGTH and " " in part and part not in translated:
                    fragments.add(part)
    return fragments


@pytest.fixture
def office(install, superuser, manager, make_users, tmp_path, make_license):
    install(
        user=manager,
        products=[
            product("cms-editor", "named", 5, name="CMS editor"),
            product("analytics", "named", None, name="Analytics"),
            product("occasional", "concurrent", 2, name="Occasional editor"),
            product("customer-portal", "portal", 20, name="Customer portal"),
        ],
    )
    editors = make_users(4, prefix="editor")
    customers = make_users(2, prefix="customer", portal=True)
    # The superuser holds a seat: enforcement opens Settings > Users (the Licenses tab) to them.
    operations.grant([superuser, manager, *editors[:2]], ["cms-editor"])
    operations.grant(editors[:1], ["occasional"])
    operations.grant(customers, ["customer-portal"])
    renewal = tmp_path / "renewal.lic"
    renewal.write_text(
        make_license(
            products=[
                product("cms-editor", "named", 10, name="CMS editor"),
                product("analytics", "named", None, name="Analytics"),
                product("customer-portal", "portal", 20, name="Customer portal"),
            ]
        )
    )
    assignments = tmp_path / "assignments.csv"
    assignments.write_text(
        "username,product,action\neditor3,cms-editor,grant\n"
        "editor1,cms-editor,recall\nnobody,cms-editor,grant\n"
    )
    return {"editors": editors, "renewal": renewal, "assignments": assignments}


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_every_licensing_screen_is_translated(page, login, superuser, office, language):
    profile = UserProfile.get_for_user(superuser)
    profile.preferred_language = language
    profile.save()
    fragments = english_fragments(language)
    assert len(fragments) > 300  # the check has teeth
    editors = office["editors"]
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state("domcontentloaded")
        assert page.locator("html").get_attribute("lang") == language, name
        text = " ".join(page.locator("body").inner_text().split())
        for data in ("License managers", "Test editors"):  # group names: data, not ours
            text = text.replace(data, "")
        english = sorted(f for f in fragments if f in text)
        if english:
            found[name] = english

    def visit(name: str, path: str) -> None:
        page.goto(f"{page.base_url}{path}", wait_until="domcontentloaded")
        check(name)

    # Text is what is checked: no images or fonts, and no waiting for them.
    page.route(
        re.compile(r".*\.(png|jpe?g|gif|svg|woff2?|ico)(\?.*)?$"), lambda route: route.abort()
    )
    login("admin")
    visit("License manager", "/admin/licensing/")
    visit("Product", "/admin/licensing/products/cms-editor/")
    visit("Product (concurrent)", "/admin/licensing/products/occasional/")
    visit("Add users", "/admin/licensing/products/cms-editor/grant/")
    visit("Request", "/admin/licensing/request/")
    visit("Delete", "/admin/licensing/delete/")
    visit("History", "/admin/licensing/history/")
    visit("Activity", "/admin/licensing/history/activity/")
    visit("System users", "/admin/licensing/users/")
    visit("System user", f"/admin/licensing/users/{editors[0].pk}/")
    visit("Add portal user", "/admin/licensing/users/portal-users/add/")
    visit(
        "Convert to portal user", f"/admin/licensing/users/{editors[3].pk}/convert-to-portal-user/"
    )
    visit(
        "Recall confirmation",
        f"/admin/licensing/products/cms-editor/recall/?id={editors[0].pk}&id={editors[1].pk}",
    )
    visit("Concurrent sessions", "/admin/licensing/sessions/")
    visit("API tokens", "/admin/licensing/api-tokens/")
    visit("License usage report", "/admin/reports/license-usage/")
    visit("Export", "/admin/licensing/assignments/export/")

    page.goto(f"{page.base_url}/admin/users/edit/{editors[0].pk}/")
    page.locator("#tab-label-licenses").click()
    check("Licenses tab")

    visit("Upload", "/admin/licensing/upload/")
    page.set_input_files("input[name=license_file]", str(office["renewal"]))
    page.locator("main form [type=submit]").first.click()
    page.wait_for_selector("[data-upload-preview]")
    check("Upload preview")

    visit("Import", "/admin/licensing/assignments/import/")
    page.set_input_files("input[name=file]", str(office["assignments"]))
    page.locator("main form [type=submit]").first.click()
    page.wait_for_selector("[data-import-preview]")
    check("Import preview")

    visit(
        "Bulk grant",
        f"/admin/licensing/users/bulk/grant_licenses/?id={editors[2].pk}"
        f"&id={editors[3].pk}&next=/admin/licensing/users/",
    )
    page.get_by_role("checkbox", name=re.compile("^Analytics")).check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(".messages")
    check("System users after a bulk grant (its message)")

    assert not found, f"English left on the {language} screens: {found}"
