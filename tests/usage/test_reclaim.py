"""Automatic reclaim of idle seats: off by default, a notice first (sent once), then the
recall, audited as automatic, never of license managers' seats."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.log_actions import registry

from tests.support.enforcement import grant
from tests.support.licenses import today
from wagtail_licensing import operations, reclaim
from wagtail_licensing.enforcement import activity
from wagtail_licensing.models import LicenseAssignment, LicenseNotice, LicensingState


def set_last_active(users, code, days_ago):
    LicenseAssignment.objects.filter(user__in=users, product_code=code).update(
        last_active_on=today() - timedelta(days=days_ago))


def held(user, code):
    return LicenseAssignment.objects.filter(user=user, product_code=code).exists()


@pytest.fixture
def reclaim_on(settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "RECLAIM_IDLE_DAYS": 90,
                                  "RECLAIM_NOTICE_DAYS": 7}


@pytest.fixture
def idle_holder(installed, make_users):
    (user,) = make_users(1, prefix="idle")
    grant(user, "editor")
    set_last_active([user], "editor", 95)
    return user


def test_off_by_default_nothing_happens(idle_holder):
    result = reclaim.run_reclaim()
    assert not result.enabled
    assert held(idle_holder, "editor") and not mail.outbox


def test_a_notice_first_then_the_recall_after_the_notice_period(
        reclaim_on, idle_holder, manager):
    result = reclaim.run_reclaim()
    assert [(n.username, n.code) for n in result.noticed] == [("idle0", "editor")]
    # Idle 95 days, but told today: reclaimed only after the 7 days of notice.
    assert held(idle_holder, "editor")
    assert result.noticed[0].reclaim_on == today() + timedelta(days=7)
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == ["idle0@example.com", "manager@example.com"]
    holder_mail = next(m for m in mail.outbox if m.to == ["idle0@example.com"])
    assert "CMS editor" in holder_mail.body
    # Sent once, however often it runs.
    reclaim.run_reclaim()
    assert len(mail.outbox) == 2
    # Seven days later: reclaimed, audited as automatic.
    LicenseNotice.objects.filter(kind="reclaim").exclude(product_code="").update(
        sent_at=LicenseNotice.objects.get(product_code="editor").sent_at - timedelta(days=7))
    result = reclaim.run_reclaim()
    assert result.reclaimed.recalled == {"editor": ["idle0"]}
    assert not held(idle_holder, "editor")
    entry = registry.get_logs_for_instance(LicensingState.get()).first()
    assert entry.data["automatic"] is True
    assert "Automatically reclaimed" in entry.message
    # The notice is re-armed (the assignment is gone).
    assert not LicenseNotice.objects.filter(product_code="editor").exists()


def test_a_holder_who_comes_back_keeps_the_seat_and_the_notice_rearms(
        reclaim_on, idle_holder):
    reclaim.run_reclaim()
    set_last_active([idle_holder], "editor", 0)
    result = reclaim.run_reclaim(today() + timedelta(days=8))
    assert result.rearmed == 1 and not result.reclaimed.recalled
    assert held(idle_holder, "editor")


def test_license_managers_seats_are_never_reclaimed(reclaim_on, installed, manager):
    grant(manager, "editor")
    set_last_active([manager], "editor", 400)
    result = reclaim.run_reclaim()
    assert not result.noticed
    LicenseNotice.objects.create(kind="reclaim", product_code="editor", key=str(manager.pk))
    result = reclaim.run_reclaim(today() + timedelta(days=30))
    assert held(manager, "editor")


def test_the_query_count_does_not_grow_with_holders(reclaim_on, installed, make_users):
    counts = []
    for n in (2, 3, 30):
        users = make_users(n, prefix=f"h{n}_")
        operations.grant(users, ["analytics"])
        set_last_active(users, "analytics", 100)
        with CaptureQueriesContext(connection) as queries:
            reclaim.run_reclaim()
        counts.append(len(queries))
        LicenseNotice.objects.exclude(product_code="").update(
            sent_at=LicenseNotice.objects.exclude(product_code="").first().sent_at
            - timedelta(days=8))
        with CaptureQueriesContext(connection) as queries:
            result = reclaim.run_reclaim()
        counts.append(len(queries))
        assert result.reclaimed.recalled_count == n
    # The first run creates the run marker: compare the next ones.
    assert counts[2] == counts[4] and counts[3] == counts[5], counts


def test_the_command(reclaim_on, idle_holder, capsys):
    call_command("licensing", "reclaim", "--dry-run")
    out = capsys.readouterr().out
    assert "idle0" in out and "Dry run" in out and not mail.outbox
    call_command("licensing", "reclaim")
    assert "Sent 1 reclaim notices" in capsys.readouterr().out


def test_the_command_says_when_it_is_off(installed, capsys):
    call_command("licensing", "reclaim")
    assert "off" in capsys.readouterr().out


def test_the_daily_hook_runs_it(reclaim_on, idle_holder, automatic_snapshot):
    activity.ensure_daily_snapshot()
    assert LicenseNotice.objects.filter(product_code="editor").exists()


def test_a_failing_mail_server_does_not_break_the_daily_hook(
        reclaim_on, idle_holder, automatic_snapshot, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(reclaim, "_send", boom)
    assert activity.ensure_daily_snapshot()
    # Rolled back: the notice is sent next time.
    assert not LicenseNotice.objects.filter(product_code="editor").exists()


def test_notices_are_rendered_in_each_recipients_language(
        reclaim_on, idle_holder, manager, managers_group, make_users, monkeypatch):
    from django.utils import formats, translation
    from wagtail.users.models import UserProfile

    # The holder prefers German, one manager French; a second manager and a second holder
    # set nothing: the site's LANGUAGE_CODE.
    (plain, other_manager) = make_users(2, prefix="plain")
    other_manager.groups.add(managers_group)
    grant(plain, "editor")
    set_last_active([plain], "editor", 95)
    for user, language in [(idle_holder, "de"), (manager, "fr")]:
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = language
        profile.save()
    rendered = []
    real_render = reclaim.render_to_string

    def render(template, context):
        rendered.append((template.rsplit("/", 1)[-1], translation.get_language()))
        return real_render(template, context)

    monkeypatch.setattr(reclaim, "render_to_string", render)
    reclaim.run_reclaim()
    assert sorted(rendered) == [("reclaim_holder.txt", "de"), ("reclaim_holder.txt", "en"),
                                ("reclaim_managers.txt", "en"), ("reclaim_managers.txt", "fr")]
    assert translation.get_language() == "en"  # restored
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"idle0@example.com", "plain0@example.com",
                               "manager@example.com", "plain1@example.com"}
    day = today() + timedelta(days=7)
    # Django's own catalogues name the month: the dates show the rendering language.
    with translation.override("de"):
        assert formats.date_format(day, "DATE_FORMAT") in by_address["idle0@example.com"].body
    with translation.override("fr"):
        assert formats.date_format(day, "DATE_FORMAT") in by_address["manager@example.com"].body
    assert formats.date_format(day, "DATE_FORMAT") in by_address["plain1@example.com"].body


def test_an_unknown_preferred_language_falls_back_to_the_sites(settings):
    settings.LANGUAGE_CODE = "en"
    assert reclaim.notice_language("xx") == "en"
    assert reclaim.notice_language("") == "en"
    assert reclaim.notice_language("de") == "de"


def test_one_selection_spares_inactive_users_and_the_spared_users(installed, make_users):
    idle, gone, spared = make_users(3, prefix="sel")
    for user in (idle, gone, spared):
        grant(user, "editor")
    set_last_active([idle, gone, spared], "editor", 100)
    gone.is_active = False
    gone.save()
    selection = LicenseAssignment.objects.reclaimable(
        90, spared_users=type(spared).objects.filter(pk=spared.pk))
    assert [a.user_id for a in selection] == [idle.pk]
    assert not LicenseAssignment.objects.reclaimable(
        101, spared_users=type(spared).objects.none()).exists()


def test_seats_held_through_a_group_are_never_reclaimed(reclaim_on, installed, make_users):
    # Recalling a seat the group gives would free nothing (the group keeps it): the way to
    # free it is to take the user out of the group, so the reclaim leaves it alone.
    from django.contrib.auth.models import Group

    inherited, both, direct = make_users(3, prefix="grp")
    group = Group.objects.create(name="Reclaim editors")
    operations.bind_group_licenses(group, "editor")
    inherited.groups.add(group)
    both.groups.add(group)
    grant(both, "editor")
    grant(direct, "editor")
    set_last_active([inherited, both, direct], "editor", 400)
    selection = LicenseAssignment.objects.reclaimable(
        90, spared_users=type(direct).objects.none())
    assert [a.user_id for a in selection] == [direct.pk]
    reclaim.run_reclaim()
    reclaim.run_reclaim(today() + timedelta(days=30))
    assert held(inherited, "editor") and held(both, "editor")
    assert not held(direct, "editor")
