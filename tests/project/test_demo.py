"""`make demo`: the demo from a clean state, the example site's settings and the demo data."""

import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from wagtail.models import ModelLogEntry

from wagtail_licensing.models import (
    MANAGE_PERMISSION,
    LicenseAssignment,
    LicenseFile,
    LicensingState,
    PortalUser,
)
from wagtail_licensing.status import installed_products
from wagtail_licensing.vendor import keygen

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SITE = ROOT / "example_site"


@pytest.fixture
def seed_demo(monkeypatch):
    """The example site's seed_demo command (its app is not installed in the test settings)."""
    monkeypatch.syspath_prepend(str(EXAMPLE_SITE))
    from demo.management.commands.seed_demo import Command

    def run(keys_dir):
        out = StringIO()
        call_command(Command(), "--keys-dir", str(keys_dir), stdout=out)
        return out.getvalue()

    return run


@pytest.fixture
def demo_keys(tmp_path, settings):
    """The key pair `make keys` generates, loaded by the site as the example site does."""
    keys_dir = tmp_path / "vendor-keys"
    keygen("demo", keys_dir)
    settings.WAGTAIL_LICENSING = {"VENDOR_PUBLIC_KEYS": {"demo": str(keys_dir / "demo.pem")},
                                  "COMPANY_ID": "ACME-DEMO"}
    return keys_dir


def snapshot():
    state = LicensingState.get()
    return (
        state.installed_file_id,
        state.version,
        get_user_model().objects.count(),
        Group.objects.count(),
        PortalUser.objects.count(),
        LicenseFile.objects.count(),
        sorted(LicenseAssignment.objects.values_list("user_id", "product_code", "has_seat")),
        ModelLogEntry.objects.count(),
    )


@pytest.mark.django_db
def test_demo_data(seed_demo, demo_keys):
    output = seed_demo(demo_keys)
    assert "Installed the demo license." in output
    User = get_user_model()

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    # The license manager gets the permission from a group, and is not a superuser.
    manager = User.objects.get(username="manager")
    assert not manager.is_superuser and manager.check_password("manager")
    assert manager.has_perm(MANAGE_PERMISSION)
    assert not manager.user_permissions.exists()
    assert manager.groups.filter(permissions__codename="can_manage_lic_users").exists()
    # Fifty editors (the last one inactive), in a few groups, none of which manages licenses.
    editors = User.objects.filter(username__startswith="editor")
    assert editors.count() == 50
    editor_groups = Group.objects.filter(user__in=editors).distinct()
    assert editor_groups.count() >= 2
    assert not editor_groups.filter(permissions__codename="can_manage_lic_users").exists()
    assert not editors.filter(groups=None).exists()
    assert not editors.filter(is_superuser=True).exists()
    # Five portal users, who cannot reach the admin.
    portal = User.objects.filter(pk__in=PortalUser.objects.values("user_id"))
    assert portal.count() == 5
    assert not any(user.has_perm("wagtailadmin.access_admin") for user in portal)

    # A signed demo license, installed through the real upload operation.
    state = LicensingState.get()
    assert not state.demo_mode
    assert state.installed_file.installed_by == admin
    assert state.installed_file.instance_id == str(state.instance_id)
    assert ModelLogEntry.objects.filter(action="wagtail_licensing.upload").count() == 1
    products = list(installed_products(state))
    kinds = {(p.type, p.seats is None) for p in products}
    assert {("named", False), ("named", True), ("concurrent", False),
            ("portal", False)} <= kinds
    # Some seats granted, some free.
    limited = [p for p in products if p.type != "concurrent" and p.seats is not None]
    assert all(0 < p.in_use < p.seats for p in limited), [(p.code, p.in_use) for p in limited]
    assert {p.code for p in products if p.holders} == {p.code for p in products}
    # Marketing studio ends in 20 days, inside the expiry warning; the rest run for a year.
    assert {p.code: p.status for p in products} == {
        "cms-editor": "active", "cms-marketing": "expiring", "cms-occasional": "active",
        "analytics": "active", "customer-portal": "active"}

    # The private key never leaves its owner.
    assert stat.S_IMODE((demo_keys / "demo.key").stat().st_mode) == 0o600


@pytest.mark.django_db
def test_seeding_twice_changes_nothing(seed_demo, demo_keys):
    seed_demo(demo_keys)
    before = snapshot()
    output = seed_demo(demo_keys)
    assert "Installed the demo license." not in output
    assert snapshot() == before


@pytest.mark.django_db
def test_a_public_key_the_site_has_not_loaded_is_a_clear_error(seed_demo, tmp_path, settings):
    settings.WAGTAIL_LICENSING = {"VENDOR_PUBLIC_KEYS": {}}
    with pytest.raises(CommandError, match="WAGTAIL_LICENSING_VENDOR_KEYS_DIR"):
        seed_demo(tmp_path / "keys")
    assert (tmp_path / "keys" / "demo.key").exists()  # made for the next run
    assert LicensingState.get().demo_mode


def test_example_site_reads_keys_dir_and_database_url(tmp_path):
    keygen("vendor-a", tmp_path)
    keygen("vendor-b", tmp_path)
    (tmp_path / "notes.txt").write_text("not a key")
    code = ("import json; from example_site import settings as s; "
            "print(json.dumps({'keys': s.WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS'], "
            "'db': str(s.DATABASES['default']['NAME'])}))")
    env = {**os.environ, "WAGTAIL_LICENSING_VENDOR_KEYS_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/site.sqlite3", "PYTHONPATH": str(EXAMPLE_SITE)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True, cwd=tmp_path)
    data = json.loads(done.stdout)
    assert data["keys"] == {"vendor-a": str(tmp_path / "vendor-a.pem"),
                            "vendor-b": str(tmp_path / "vendor-b.pem")}
    assert data["db"] == f"{tmp_path}/site.sqlite3"


def _run(*args, env):
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                    reason="the demo runs on its own SQLite database: the SQLite run covers it")
def test_the_demo_works_from_a_clean_state(tmp_path):
    """What `make demo` runs, from nothing: the keys, migrate, seed_demo; then the logins the
    demo prints work, the license is installed, and a second run of every step is harmless."""
    keys_dir = tmp_path / "vendor-keys"
    env = {**os.environ, "WAGTAIL_LICENSING_VENDOR_KEYS_DIR": str(keys_dir),
           "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
           "PYTHONPATH": os.pathsep.join([str(EXAMPLE_SITE), str(ROOT)])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = str(EXAMPLE_SITE / "manage.py")
    _run("-m", "wagtail_licensing.vendor", "keygen", "--kid", "demo", "--out", str(keys_dir),
         env=env)
    for _ in range(2):
        _run(manage, "migrate", "--noinput", env=env)
        _run(manage, "seed_demo", "--keys-dir", str(keys_dir), env=env)
    check = (
        "import django, json; django.setup(); "
        "from django.contrib.auth import authenticate; "
        "from wagtail_licensing.models import LicensingState, PortalUser; "
        "logins = [('admin', 'admin'), ('manager', 'manager'), ('editor1', 'editor'), "
        "('editor49', 'editor'), ('portal1', 'portal'), ('portal5', 'portal')]; "
        "state = LicensingState.get(); "
        "print(json.dumps({'logins': [authenticate(username=u, password=p) is not None "
        "for u, p in logins], 'demo_mode': state.demo_mode, "
        "'portal': PortalUser.objects.filter(user__username='portal1').exists()}))"
    )
    done = _run("-c", check, env={**env, "DJANGO_SETTINGS_MODULE": "example_site.settings"})
    assert json.loads(done.stdout) == {"logins": [True] * 6, "demo_mode": False, "portal": True}


def test_the_demo_database_and_keys_are_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "example_site/var/db.sqlite3",
                           "example_site/var/vendor-keys/demo.key"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["example_site/var/db.sqlite3",
                                   "example_site/var/vendor-keys/demo.key"]
