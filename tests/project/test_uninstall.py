"""`manage.py licensing uninstall`, then the site without the app: no table, content type or
permission of the app is left, and its audit log entries still read as they did."""

import ast
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.docs import code_block
from tests.support.licenses import Vendor, product
from wagtail_licensing.log_formatters import FORMATTERS

ROOT = Path(__file__).resolve().parents[2]

SITE_HISTORY = """
import django, json
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username="admin"))
page = client.get("/admin/reports/site-history/")
try:
    csv = client.get("/admin/reports/site-history/?export=csv")
    csv = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode("utf-8-sig")
except Exception as error:
    csv = type(error).__name__
print(json.dumps({"status": page.status_code, "page": page.content.decode(), "csv": csv}))
"""

INSPECT = """
import django, json
django.setup()
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from wagtail.models import ModelLogEntry
entries = ModelLogEntry.objects.filter(action__startswith="wagtail_licensing.").order_by("pk")
print(json.dumps({
    "tables": [t for t in connection.introspection.table_names()
               if t.startswith("wagtail_licensing")],
    "content_types": list(ContentType.objects.filter(app_label="wagtail_licensing")
                          .values_list("model", flat=True)),
    "permissions": list(Permission.objects.filter(codename="can_manage_lic_users")
                        .values_list("codename", flat=True)),
    "entries": [{"action": e.action, "label": e.label, "data": e.data,
                 "content_type": e.content_type_id} for e in entries],
}))
"""

SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
User = get_user_model()
User.objects.create_superuser("admin", "admin@example.com", "pw")
managers = Group.objects.create(name="License managers")
managers.permissions.add(Permission.objects.get(codename="can_manage_lic_users"))
User.objects.create_user("ada", "ada@example.com", "pw").groups.add(managers)
"""


@pytest.fixture
def site(tmp_path):
    vendor = Vendor()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.uninstall_settings",
           "UNINSTALL_DATABASE": str(tmp_path / "site.sqlite3"),
           "UNINSTALL_PUBLIC_KEY": vendor.public_pem, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)

    def run(*args, without=False, check=True, extra_app=None):
        more = {"WITHOUT_LICENSING": "1"} if without else {}
        if extra_app:
            more["UNINSTALL_EXTRA_APP"] = extra_app
        done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True,
                              text=True, env={**env, **more}, check=False)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    run("-m", "django", "migrate", "--noinput", "-v0")
    run("-c", SETUP)
    license_file = tmp_path / "acme.lic"
    license_file.write_text(vendor.sign({
        "format": 1, "license_id": "LIC-1", "company_id": "ACME", "instance_id": None,
        "license_version": "1.0", "issued_at": datetime.now(UTC).isoformat(),
        "products": [product("editor", "named", 5, name="CMS editor")]}))
    run("-m", "django", "licensing", "upload", str(license_file))
    run("-m", "django", "licensing", "grant", "--product", "editor", "admin", "ada")
    run.folder = tmp_path
    return run


def inspect(run, **kwargs):
    return json.loads(run("-c", INSPECT, **kwargs).stdout)


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="a site of its own on an SQLite file: a PostgreSQL run adds nothing")
def test_uninstall_then_remove_the_app(site):
    before = inspect(site)
    assert [e["action"] for e in before["entries"]] == ["wagtail_licensing.upload",
                                                        "wagtail_licensing.grant"]
    # Without --yes: what would be done, and nothing is.
    done = site("-m", "django", "licensing", "uninstall", check=False)
    assert done.returncode == 1
    assert "rewrite 2 of its 2 audit log entries" in done.stdout
    assert "wagtail_licensing.0001_initial" in done.stdout
    assert "held by the groups License managers" in done.stdout
    assert "Add --yes to uninstall" in done.stderr
    assert inspect(site) == before

    done = site("-m", "django", "licensing", "uninstall", "--yes")
    assert "2 audit log entries rewritten" in done.stdout
    after = inspect(site)
    assert after["tables"] == [] and after["content_types"] == []
    assert after["permissions"] == []
    grant = after["entries"][1]
    assert grant["label"] == "Grant licenses: Granted licenses to 2 users: editor (2)"
    assert grant["data"]["wagtail_licensing_uninstalled"] == {
        "label": "Licensing", "action_label": "Grant licenses",
        "message": "Granted licenses to 2 users: editor (2)"}
    assert grant["data"]["granted"]["editor"]["count"] == 2  # what the app logged is kept
    assert grant["content_type"] is None

    # The site without the app: its checks pass, nothing is left to migrate, and Site history
    # reads as it did. (Only superusers see these entries now: the permission is gone.)
    site("-m", "django", "check", "--fail-level", "WARNING", without=True)
    site("-m", "django", "migrate", "--check", without=True)
    history = json.loads(site("-c", SITE_HISTORY, without=True).stdout)
    assert history["status"] == 200
    assert "Grant licenses: Granted licenses to 2 users: editor (2)" in history["page"]
    assert "Upload license file: Installed license file LIC-1: editor" in history["page"]
    assert inspect(site, without=True)["entries"][1]["label"] == grant["label"]
    # ... but Wagtail's CSV download fails on actions nobody registers (docs/upgrading.md says
    # so: if this changes, say so there too).
    assert history["csv"] == "KeyError"

    # Wagtail's CSV download of Site history needs the actions registered: the docs' snippet.
    app = site.folder / "removed_licensing"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "wagtail_hooks.py").write_text(
        code_block("upgrading.md", "removed-licensing-log-actions"))
    history = json.loads(site("-c", SITE_HISTORY, without=True,
                              extra_app="removed_licensing").stdout)
    assert "Granted licenses to 2 users: editor (2)" in history["csv"], history["csv"]
    assert "Unknown wagtail_licensing" not in history["page"]


def test_the_docs_snippet_names_every_licensing_log_action():
    snippet = ast.parse(code_block("upgrading.md", "removed-licensing-log-actions"))
    (actions,) = [node.value for node in snippet.body if isinstance(node, ast.Assign)
                  and node.targets[0].id == "REMOVED_LICENSING_ACTIONS"]
    assert ast.literal_eval(actions) == {
        action: str(formatter.label) for action, formatter in FORMATTERS.items()}
