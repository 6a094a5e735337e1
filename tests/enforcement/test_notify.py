"""``manage.py licensing notify``: e-mails to the license managers before a product expires
(30, 7 and 1 days) and at the seat threshold, each notice once."""

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from tests.support.licenses import product, today
from wagtail_licensing import notifications, operations
from wagtail_licensing.models import LicenseNotice


def notify(*args, on=None):
    out = StringIO()
    with mock.patch.object(notifications, "site_today", return_value=on or today()):
        call_command("licensing", "notify", *args, stdout=out)
    return out.getvalue()


def subjects():
    return [message.subject for message in mail.outbox]


@pytest.fixture
def expiring(install, manager, superuser):
    """"CMS editor" expires in 30 days. The superuser gets no e-mail: superusers are written
    to only when nobody holds CanManageLicUsers."""
    return install(products=[
        product("editor", "named", 50, name="CMS editor",
                valid_until=today() + timedelta(days=30)),
        product("analytics", "named", None),
    ])


def test_expiry_notices_at_30_7_and_1_days_each_once(expiring, manager):
    until = today() + timedelta(days=30)
    output = notify()
    assert "Sent 1 notices to 1 license managers." in output
    assert subjects() == ["[Test site] CMS editor expires in 30 days"]
    assert mail.outbox[0].to == ["manager@example.com"]
    body = mail.outbox[0].body
    assert "CMS editor (editor) on Test site expires in 30 days" in body
    assert "http://testserver/admin/licensing/" in body

    assert "No notice is due." in notify()  # running it twice sends nothing new
    assert notify(on=until - timedelta(days=20)) == "No notice is due.\n"
    notify(on=until - timedelta(days=7))
    notify(on=until - timedelta(days=6))
    notify(on=until - timedelta(days=1))
    notify(on=until)
    notify(on=until + timedelta(days=1))
    assert subjects() == ["[Test site] CMS editor expires in 30 days",
                          "[Test site] CMS editor expires in 7 days",
                          "[Test site] CMS editor expires in 1 day"]
    assert LicenseNotice.objects.filter(kind="expiry").count() == 3


def test_first_run_close_to_expiry_sends_only_the_nearest_notice(expiring):
    notify(on=today() + timedelta(days=25))  # 5 days before expiry: the 7-day notice
    assert subjects() == ["[Test site] CMS editor expires in 5 days"]
    notify(on=today() + timedelta(days=27))  # 3 days before: nothing new
    assert len(mail.outbox) == 1


def test_renewed_license_starts_over(expiring, install):
    notify()
    install(products=[product("editor", "named", 50, name="CMS editor",
                              valid_until=today() + timedelta(days=29)),
                      product("analytics", "named", None)])
    notify()
    assert len(mail.outbox) == 2


def test_seat_threshold_notice_once_and_rearmed(install, manager, make_users, editors_group):
    install(products=[product("editor", "named", 10, name="CMS editor"),
                      product("analytics", "named", None)])
    users = make_users(9, groups=[editors_group])
    operations.grant(users[:8], ["editor"])
    assert notify() == "No notice is due.\n"
    operations.grant(users[8:], ["editor"])  # 9 of 10: 90 %
    notify()
    notify()
    assert subjects() == ["[Test site] CMS editor uses 9 of its 10 seats"]
    assert "When every seat is taken" in mail.outbox[0].body
    operations.recall(users[:1], ["editor"])  # below the threshold again: re-armed
    notify()
    operations.grant(users[:1], ["editor"])
    notify()
    assert len(mail.outbox) == 2


def test_every_manager_gets_their_own_message(expiring, manager, managers_group, make_users):
    make_users(2, prefix="boss", groups=[managers_group])
    notify()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "boss0@example.com", "boss1@example.com", "manager@example.com"]
    assert all(len(m.to) == 1 for m in mail.outbox)


def test_superusers_are_written_to_when_nobody_else_manages_licenses(install, superuser):
    install(products=[product("editor", "named", 5, valid_until=today() + timedelta(days=3))])
    notify()
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]


def test_no_manager_with_an_address_sends_nothing_and_says_so(expiring, manager, superuser):
    manager.email = ""
    manager.save()
    with pytest.raises(CommandError, match="No license manager has an e-mail address"):
        notify()
    assert not mail.outbox
    assert not LicenseNotice.objects.exists()


def test_dry_run(expiring):
    output = notify("--dry-run")
    assert "editor: [Test site] CMS editor expires in 30 days" in output
    assert "Dry run: nothing was sent (1 due, 1 license managers" in output
    assert not mail.outbox
    assert not LicenseNotice.objects.exists()


def test_failed_sending_is_retried_next_time(expiring):
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages",
                    side_effect=OSError("SMTP down")), pytest.raises(OSError):
        notify()
    assert not LicenseNotice.objects.exists()
    notify()
    assert len(mail.outbox) == 1


def test_demo_mode_sends_nothing(state, manager):
    assert notify() == "No notice is due.\n"


def test_notify_days_setting(expiring, settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "NOTIFY_DAYS": [14]}
    assert notify() == "No notice is due.\n"
    notify(on=today() + timedelta(days=16))
    assert subjects() == ["[Test site] CMS editor expires in 14 days"]


def test_concurrent_slots_threshold(install, manager, make_users, editors_group):
    install(products=[product("occasional", "concurrent", 2, name="Occasional editor")])
    users = make_users(2, groups=[editors_group])
    operations.grant(users, ["occasional"])
    operations.take_concurrent_slot(users[0], ["occasional"], token="a")
    assert notify() == "No notice is due.\n"
    operations.take_concurrent_slot(users[1], ["occasional"], token="b")
    notify()
    assert subjects() == [
        "[Test site] Occasional editor has 2 of its 2 concurrent slots in use"]
    assert "Concurrent sessions screen" in mail.outbox[0].body
