"""Installing, previewing and deleting license files (seat rules 5-7)."""

import shutil
import subprocess
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from wagtail.models import ModelLogEntry

from tests.support.licenses import product, today
from wagtail_licensing import cache as licensing_cache
from wagtail_licensing import operations
from wagtail_licensing.exceptions import AlreadyInstalled, InvalidLicenseFile, LicenseRefused
from wagtail_licensing.license_file import SIGNATURE_CONTEXT, encode_license_file
from wagtail_licensing.models import (
    LicenseAssignment,
    LicensedProduct,
    LicenseFile,
    LicensingState,
)
from wagtail_licensing.status import installed_products

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything an operation could change."""
    state = LicensingState.get()
    return (
        state.installed_file_id,
        state.version,
        LicenseFile.objects.count(),
        LicensedProduct.objects.count(),
        sorted(LicenseAssignment.objects.values_list("user_id", "product_code", "has_seat")),
        ModelLogEntry.objects.count(),
    )


def test_install_creates_history_products_and_log(make_license, superuser):
    text = make_license(license_id="LIC-100")
    result = operations.install_license_file(text, user=superuser)
    state = LicensingState.get()
    assert state.installed_file == result.license_file
    assert result.license_file.content == text
    assert result.license_file.installed_by == superuser
    assert result.license_file.payload["license_id"] == "LIC-100"
    products = {p.code: p for p in installed_products()}
    assert set(products) == {"editor", "analytics", "occasional", "portal"}
    assert products["analytics"].seats is None
    assert products["editor"].available == 5
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.upload")
    assert entry.user == superuser
    assert "LIC-100" in entry.message
    assert entry.object_id == str(state.pk)


def test_preview_describes_changes_and_changes_nothing(install, make_license, make_users):
    install()
    users = make_users(4)
    operations.grant(users, ["editor"])
    before = snapshot()
    text = make_license(products=[
        product("editor", seats=2, name="CMS editor"),
        product("analytics", seats=None, name="Analytics renamed"),
        product("new-thing", seats=1),
    ])
    preview = operations.preview_upload(text)
    kinds = {change.code: change.kind for change in preview.changes}
    assert kinds == {"editor": "changed", "analytics": "changed", "new-thing": "added",
                     "occasional": "removed", "portal": "removed"}
    editor_change = next(c for c in preview.changes if c.code == "editor")
    assert {"field": "seats", "label": "seats", "old": 5, "new": 2} in editor_change.details
    assert any("over-allocated" in w and "2 most recently granted" in w
               for w in preview.warnings)
    assert snapshot() == before


def test_fewer_seats_than_in_use_over_allocates_earliest_keep_access(install, make_license,
                                                                      make_users):
    install()
    users = make_users(5)
    for user in users:  # one by one so that granted_at orders them
        operations.grant([user], ["editor"])
    operations.install_license_file(make_license(products=[product("editor", seats=3)]))
    seated = set(LicenseAssignment.objects.filter(has_seat=True).values_list("user_id",
                                                                               flat=True))
    assert seated == {u.pk for u in users[:3]}
    editor = installed_products().get(code="editor")
    assert editor.over_allocated and editor.status == "over_allocated"
    assert editor.used == 3 and editor.available == 0

    # A freed seat goes to the earliest-granted holder without one.
    operations.recall([users[0]], ["editor"])
    seated = set(LicenseAssignment.objects.filter(has_seat=True).values_list("user_id",
                                                                               flat=True))
    assert seated == {users[1].pk, users[2].pk, users[3].pk}


def test_products_missing_from_new_file_keep_assignments_and_a_later_file_restores(
        install, make_license, make_users):
    install()
    users = make_users(2)
    operations.grant(users, ["editor"])
    operations.install_license_file(make_license(products=[product("analytics", seats=None)]))
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 2
    assert not installed_products().filter(code="editor").exists()
    operations.install_license_file(make_license())
    editor = installed_products().get(code="editor")
    assert editor.used == 2


def test_history_keeps_previous_files(install):
    first = install(license_id="LIC-1a")
    second = install(license_id="LIC-1b")
    assert list(LicenseFile.objects.all()) == [second, first]
    assert LicensingState.get().installed_file == second


def test_same_file_again_changes_nothing_and_says_so(make_license):
    text = make_license()
    operations.install_license_file(text)
    before = snapshot()
    with pytest.raises(AlreadyInstalled, match="already installed"):
        operations.install_license_file(text)
    with pytest.raises(AlreadyInstalled):
        operations.preview_upload(text)
    assert snapshot() == before


def test_instance_of_another_site_is_refused(make_license, state):
    before = snapshot()
    with pytest.raises(LicenseRefused, match="issued for another site"):
        operations.install_license_file(make_license(instance_id="another-site"))
    assert snapshot() == before


def test_file_for_this_instance_installs(make_license, state):
    operations.install_license_file(make_license(instance_id=str(state.instance_id)))
    assert not LicensingState.get().demo_mode


def test_other_company_is_refused(install, make_license):
    install()
    before = snapshot()
    with pytest.raises(LicenseRefused, match="for the company OTHER"):
        operations.install_license_file(make_license(company_id="OTHER"))
    assert snapshot() == before


def test_downgrade_is_refused(install, make_license):
    install(issued_at="2026-06-01T00:00:00Z")
    before = snapshot()
    with pytest.raises(LicenseRefused, match="downgrade"):
        operations.install_license_file(make_license(issued_at="2026-05-31T23:59:59Z"))
    assert snapshot() == before


def test_downgrade_is_refused_after_a_delete_too(install, make_license):
    install(issued_at="2026-06-01T00:00:00Z")
    operations.delete_licenses()
    before = snapshot()
    older = make_license(issued_at="2026-05-01T00:00:00Z",
                         products=[product("editor", seats=500)])
    with pytest.raises(LicenseRefused, match="downgrade, even after the licenses were deleted"):
        operations.preview_upload(older)
    with pytest.raises(LicenseRefused, match="downgrade"):
        operations.install_license_file(older)
    assert snapshot() == before
    # A newer file installs, and so does the deleted file itself (it restores the license).
    operations.install_license_file(make_license(issued_at="2026-07-01T00:00:00Z"))


def test_the_deleted_file_can_be_installed_again(install, make_license):
    text = make_license(issued_at="2026-06-01T00:00:00Z")
    installed = operations.install_license_file(text)
    operations.delete_licenses()
    operations.install_license_file(text)
    assert LicensingState.get().installed_file.license_id == installed.license_file.license_id


def test_downgrade_message_uses_the_admin_date_format(install, make_license):
    install(issued_at="2026-06-01T10:00:00Z")
    with pytest.raises(LicenseRefused) as refused:
        operations.install_license_file(make_license(issued_at="2026-05-31T23:59:59Z"))
    assert "T23:59:59" not in refused.value.message and "+00:00" not in refused.value.message


def test_all_products_expired_is_refused(make_license, db):
    expired = today() - timedelta(days=1)
    before = snapshot()
    with pytest.raises(LicenseRefused, match="already expired"):
        operations.install_license_file(make_license(products=[
            product("editor", valid_from=expired - timedelta(days=30), valid_until=expired)]))
    assert snapshot() == before


def test_some_products_expired_installs_with_a_warning(make_license, db):
    expired = today() - timedelta(days=1)
    text = make_license(products=[
        product("editor"),
        product("old", valid_from=expired - timedelta(days=30), valid_until=expired)])
    preview = operations.preview_upload(text)
    assert any("old" in w and "expired" in w for w in preview.warnings)
    operations.install_license_file(text)
    assert installed_products().get(code="old").status == "expired"


@pytest.mark.parametrize("bad", ["garbage", "", "-----BEGIN WAGTAIL LICENSE FILE-----\n"])
def test_malformed_file_changes_nothing(bad, db):
    before = snapshot()
    with pytest.raises(InvalidLicenseFile):
        operations.install_license_file(bad)
    assert snapshot() == before


def test_tampered_file_changes_nothing(make_license, db):
    text = make_license()
    lines = text.splitlines()
    middle = len(lines) // 2
    lines[middle] = lines[middle][:-4] + ("AAAA" if not lines[middle].endswith("AAAA") else "BBBB")
    before = snapshot()
    with pytest.raises(InvalidLicenseFile):
        operations.install_license_file("\n".join(lines))
    assert snapshot() == before


def test_delete_puts_site_in_demo_mode_and_keeps_history_and_assignments(
        install, make_license, make_users, superuser):
    text = make_license()
    operations.install_license_file(text)
    users = make_users(2)
    operations.grant(users, ["editor"])
    deleted = operations.delete_licenses(user=superuser)
    state = LicensingState.get()
    assert state.demo_mode
    assert LicenseFile.objects.filter(pk=deleted.pk).exists()
    assert LicenseAssignment.objects.filter(product_code="editor").count() == 2
    assert list(installed_products()) == []
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.delete")
    assert "demo mode" in entry.message and entry.user == superuser
    # Uploading the same file again restores everything.
    operations.install_license_file(text)
    assert installed_products().get(code="editor").used == 2


def test_delete_in_demo_mode_is_refused(db):
    with pytest.raises(LicenseRefused, match="nothing to delete"):
        operations.delete_licenses()


def test_every_change_bumps_the_version_and_publishes_it(make_license, make_users,
                                                         django_capture_on_commit_callbacks):
    state = LicensingState.get()
    versions = [state.version]
    users = make_users(1)
    steps = [
        lambda: operations.install_license_file(make_license()),
        lambda: operations.grant(users, ["editor"]),
        lambda: operations.recall(users, ["editor"]),
        lambda: operations.delete_licenses(),
    ]
    for step in steps:
        with django_capture_on_commit_callbacks(execute=True):
            step()
        version = LicensingState.get().version
        assert version > versions[-1]
        assert licensing_cache.current_version() == version
        versions.append(version)


def test_manager_sees_licensing_entries_in_site_history(install, manager, editor, superuser):
    install(user=superuser)
    visible_to_manager = ModelLogEntry.objects.viewable_by_user(manager)
    assert visible_to_manager.filter(action="wagtail_licensing.upload").exists()
    assert not ModelLogEntry.objects.viewable_by_user(editor).filter(
        action__startswith="wagtail_licensing").exists()


def test_users_keep_history_when_installer_is_deleted(install, superuser):
    license_file = install(user=superuser)
    get_user_model().objects.filter(pk=superuser.pk).delete()
    license_file.refresh_from_db()
    assert license_file.installed_by is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_signed_file_installs(tmp_path, settings, db):
    key_path = tmp_path / "vendor.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key_path)],
                   check=True, capture_output=True)
    pem = subprocess.run(["openssl", "pkey", "-in", str(key_path), "-pubout"], check=True,
                         capture_output=True).stdout.decode()
    settings.WAGTAIL_LICENSING = {"VENDOR_PUBLIC_KEYS": {"acme-2026": pem}}
    valid_until = (today() + timedelta(days=30)).isoformat()
    payload = ('{"format": 1, "license_id": "HAND-1", "company_id": "ACME", '
               '"instance_id": null, "license_version": null, '
               '"issued_at": "2026-01-15T09:30:00+01:00", "products": [{"code": "editor", '
               '"name": "Editor", "type": "named", "seats": 3, "valid_from": "2026-01-01", '
               f'"valid_until": "{valid_until}"}}]}}').encode()
    (tmp_path / "msg").write_bytes(SIGNATURE_CONTEXT + payload)
    subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(key_path),
                    "-in", str(tmp_path / "msg"), "-out", str(tmp_path / "sig")],
                   check=True, capture_output=True)
    text = encode_license_file(payload, (tmp_path / "sig").read_bytes(), "acme-2026")
    operations.install_license_file(text)
    assert installed_products().get(code="editor").seats == 3


def test_preview_follows_the_status_rule_for_a_product_in_its_grace_period(make_license, db,
                                                                            settings):
    # The same rule as every status tag and banner: within GRACE_DAYS a product that has
    # passed its end date still grants access, and the preview must say so, not "no access".
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "GRACE_DAYS": 5}
    expired = today() - timedelta(days=1)
    preview = operations.preview_upload(make_license(products=[
        product("editor"),
        product("old", valid_from=expired - timedelta(days=30), valid_until=expired)]))
    old = [w for w in preview.warnings if "(old)" in w]
    assert len(old) == 1
    assert "grace period" in old[0]
    assert "grants no access" not in old[0]
