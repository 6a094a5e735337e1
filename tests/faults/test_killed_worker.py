"""A worker killed with SIGKILL in the middle of a large grant and of an import confirm
(after the rows are written, before the commit): nothing of it is left (no assignment,
counter, version or audit entry), the lock is free, and the pending import can still be
confirmed. Real processes on an SQLite file (tests/uninstall_settings.py)."""

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.licenses import Vendor, product

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
USERS = 3000

SETUP = f"""
import django
django.setup()
from django.contrib.auth import get_user_model
User = get_user_model()
User.objects.create_superuser("admin", "admin@example.com", "pw")
User.objects.bulk_create(User(username=f"u{{i}}", email=f"u{{i}}@example.com")
                         for i in range({USERS}))
"""

# Stops inside the action's transaction, after the work and the audit entry: the hooks run
# there. The parent kills the process when it prints INSIDE.
STALL = """
import sys, time
from wagtail import hooks
@hooks.register("after_licenses_granted")
def stall(**kwargs):
    print("INSIDE", flush=True)
    time.sleep(120)
"""

GRANT = """
import django
django.setup()
{stall}
from django.contrib.auth import get_user_model
from wagtail_licensing import operations
result = operations.grant(get_user_model().objects.filter(username__startswith="u"), ["editor"])
print("DONE", len(result.granted["editor"]), flush=True)
"""

CLIENT = """
import django, json, sys
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()  # responses keep their context (the messages)
{stall}
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from wagtail_licensing.models import LicensingState
client = Client()
client.force_login(get_user_model().objects.get(username="admin"))
if sys.argv[1] == "upload":
    content = "username,product\\n" + "".join(f"u{{i}},editor\\n" for i in range({users}))
    response = client.post("/admin/licensing/assignments/import/",
                           {{"file": SimpleUploadedFile("people.csv", content.encode())}})
    print(json.dumps({{"preview": response["Location"]}}), flush=True)
else:
    response = client.post(sys.argv[2], {{"token": sys.argv[2].rstrip("/").split("/")[-1],
                                          "version": LicensingState.get().version,
                                          "action": "confirm"}}, follow=True)
    print(json.dumps({{"status": response.status_code,
                      "messages": [str(m) for m in response.context["messages"]]}}), flush=True)
"""

INSPECT = """
import django, json
django.setup()
from wagtail.models import ModelLogEntry
from wagtail_licensing.actions import counters
from wagtail_licensing.models import LicenseAssignment, LicensingState, PendingUpload
print(json.dumps({
    "assignments": LicenseAssignment.objects.count(),
    "version": LicensingState.get().version,
    "drift": [str(d) for d in counters.drift()],
    "entries": ModelLogEntry.objects.filter(action__startswith="wagtail_licensing.").count(),
    "pending": PendingUpload.objects.count(),
}))
"""


@pytest.fixture(scope="module")
def vendor():
    return Vendor()


def environment(vendor, database: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.uninstall_settings",
           "UNINSTALL_DATABASE": str(database), "UNINSTALL_PUBLIC_KEY": vendor.public_pem,
           "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    return env


def run_in(folder: Path, env: dict, *args) -> str:
    done = subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True,
                          env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, vendor):
    """One migrated, seeded site, copied for each test (migrating takes most of the time)."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("real processes on an SQLite file: the SQLite run of the suite covers it")
    folder = tmp_path_factory.mktemp("killed")
    database = folder / "site.sqlite3"
    env = environment(vendor, database)
    run_in(folder, env, "-m", "django", "migrate", "--noinput", "-v0")
    run_in(folder, env, "-c", SETUP)
    license_file = folder / "acme.lic"
    license_file.write_text(vendor.sign({
        "format": 1, "license_id": "LIC-1", "company_id": "ACME", "instance_id": None,
        "license_version": "1.0", "issued_at": datetime.now(UTC).isoformat(),
        "products": [product("editor", "named", USERS + 10, name="CMS editor")]}))
    run_in(folder, env, "-m", "django", "licensing", "upload", str(license_file))
    return database


@pytest.fixture
def site(tmp_path, vendor, migrated):
    database = tmp_path / "site.sqlite3"
    shutil.copyfile(migrated, database)
    env = environment(vendor, database)

    def run(*args):
        return run_in(tmp_path, env, *args)

    def killed_inside(code, *args):
        """Run ``code`` and SIGKILL it once it is inside the transaction."""
        child = subprocess.Popen([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline()
            assert line.strip() == "INSIDE", line + child.stderr.read()
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
            child.stderr.close()

    def inspect():
        return json.loads(run("-c", INSPECT).strip().splitlines()[-1])

    run.killed_inside, run.inspect = killed_inside, inspect
    return run


def test_a_worker_killed_mid_grant_leaves_nothing_and_the_grant_can_run_again(site):
    before = site.inspect()
    site.killed_inside(GRANT.format(stall=STALL))
    after = site.inspect()
    assert after == before  # no assignment, no version, no audit entry
    assert after["assignments"] == 0 and after["drift"] == []
    # The lock died with the process: the same grant runs to the end.
    assert site("-c", GRANT.format(stall="")).strip() == f"DONE {USERS}"
    done = site.inspect()
    assert done["assignments"] == USERS and done["drift"] == []
    assert done["version"] == before["version"] + 1


def test_a_worker_killed_mid_import_confirm_leaves_the_import_to_confirm(site):
    preview = json.loads(site("-c", CLIENT.format(stall="", users=USERS), "upload")
                         .strip().splitlines()[-1])["preview"]
    before = site.inspect()
    assert before["pending"] == 1
    site.killed_inside(CLIENT.format(stall=STALL, users=USERS), "confirm", preview)
    assert site.inspect() == before  # nothing imported; the upload still waits
    confirmed = json.loads(site("-c", CLIENT.format(stall="", users=USERS), "confirm", preview)
                           .strip().splitlines()[-1])
    assert confirmed["status"] == 200
    assert f"Imported people.csv: {USERS} granted 0 recalled 0 unchanged." in [
        message.replace(",", "").strip() for message in confirmed["messages"]]
    after = site.inspect()
    assert after["assignments"] == USERS and after["drift"] == [] and after["pending"] == 0
