"""The Wagtail hooks the operations call, for the site's own code (docs/hooks.md)."""

import pytest
from wagtail import hooks
from wagtail.models import ModelLogEntry

from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicenseRefused
from wagtail_licensing.models import LicenseAssignment, LicenseFile, LicensingState

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)


def test_before_install_sees_the_preview_and_may_refuse(make_license, superuser):
    def refuse(user, preview):
        assert user == superuser
        assert preview.payload.company_id == "ACME"
        raise LicenseRefused("Our CRM says this contract was cancelled.")

    with hooks.register_temporarily(operations.BEFORE_LICENSE_FILE_INSTALL, refuse):
        with pytest.raises(LicenseRefused, match="contract was cancelled"):
            operations.install_license_file(make_license(), user=superuser)
    assert LicensingState.get().demo_mode
    assert not LicenseFile.objects.exists()
    assert not ModelLogEntry.objects.filter(action__startswith="wagtail_licensing").exists()


def test_before_install_that_accepts_lets_it_install(make_license):
    recorder = Recorder()
    with hooks.register_temporarily(operations.BEFORE_LICENSE_FILE_INSTALL, recorder):
        operations.install_license_file(make_license(license_id="LIC-OK"))
    assert len(recorder.calls) == 1
    assert recorder.calls[0]["preview"].payload.license_id == "LIC-OK"
    assert not LicensingState.get().demo_mode


def test_after_install_gets_the_new_file(make_license, superuser):
    recorder = Recorder()
    with hooks.register_temporarily(operations.AFTER_LICENSE_FILE_INSTALL, recorder):
        result = operations.install_license_file(make_license(), user=superuser)
    (call,) = recorder.calls
    assert call["license_file"] == result.license_file
    assert call["user"] == superuser
    assert {c.code for c in call["preview"].changes_of("added")} == {
        "editor", "analytics", "occasional", "portal"}


def test_after_install_failure_rolls_the_install_back(make_license):
    def explode(**kwargs):
        raise RuntimeError("notification service down")

    with hooks.register_temporarily(operations.AFTER_LICENSE_FILE_INSTALL, explode):
        with pytest.raises(RuntimeError):
            operations.install_license_file(make_license())
    assert LicensingState.get().demo_mode
    assert not LicenseFile.objects.exists()


def test_after_delete(installed, superuser):
    recorder = Recorder()
    with hooks.register_temporarily(operations.AFTER_LICENSES_DELETED, recorder):
        operations.delete_licenses(user=superuser)
    assert recorder.calls == [{"user": superuser, "license_file": installed}]


def test_after_request_created_can_send_it_elsewhere(db, superuser):
    sent = []

    def send_to_vendor_api(user, request):
        sent.append(request.data)
        return "sent to the vendor's API"

    with hooks.register_temporarily(operations.AFTER_LICENSE_REQUEST_CREATED,
                                    send_to_vendor_api):
        request = operations.create_license_request(user=superuser, company_id="ACME")
    assert sent == [request.data]
    assert request.hook_results == ["sent to the vendor's API"]


def test_after_granted_and_recalled(installed, make_users, manager):
    users = make_users(2)
    granted, recalled = Recorder(), Recorder()
    with hooks.register_temporarily(operations.AFTER_LICENSES_GRANTED, granted), \
            hooks.register_temporarily(operations.AFTER_LICENSES_RECALLED, recalled):
        operations.grant(users, ["editor"], user=manager)
        operations.recall(users[:1], ["editor"], user=manager)
    assert granted.calls[0]["user"] == manager
    assert granted.calls[0]["result"].granted == {"editor": ["user0", "user1"]}
    assert recalled.calls[0]["result"].recalled == {"editor": ["user0"]}


def test_a_grant_hook_that_raises_rolls_the_grant_back(installed, make_users):
    def refuse(**kwargs):
        raise LicenseRefused("Seats are managed in the HR system.")

    with hooks.register_temporarily(operations.AFTER_LICENSES_GRANTED, refuse):
        with pytest.raises(LicenseRefused):
            operations.grant(make_users(2), ["editor"])
    assert not LicenseAssignment.objects.exists()


def test_hooks_are_not_called_when_nothing_changes(installed, make_users):
    granted, recalled = Recorder(), Recorder()
    users = make_users(6)
    with hooks.register_temporarily(operations.AFTER_LICENSES_GRANTED, granted), \
            hooks.register_temporarily(operations.AFTER_LICENSES_RECALLED, recalled):
        operations.grant(users, ["editor"])  # 6 > 5 seats: refused
        operations.recall(users, ["editor"])  # nobody holds it
    assert granted.calls == [] and recalled.calls == []
