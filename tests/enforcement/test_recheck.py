"""Bounded staleness: each process re-reads the licensing state version and access epoch from the
database at most once every ``STATE_RECHECK_SECONDS``, so that a change made by another process
(whose cache this one does not share) applies within that time, and the warm check makes no
query the rest of the time.

"Another process" here is a change the database has and this process's cache was never told
of: the other process published to a cache of its own.
"""

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F

from tests.support.enforcement import ADMIN, grant, login
from tests.support.queries import count_queries
from wagtail_licensing import cache, enforcement, operations
from wagtail_licensing.enforcement import AdminAccess
from wagtail_licensing.models import LicensingState


@pytest.fixture
def clock(monkeypatch):
    """The recheck's clock, moved by hand: ``clock.advance(seconds)``."""

    class Clock:
        now = 1000.0

        def advance(self, seconds):
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(cache, "clock", lambda: fake.now)
    return fake


@pytest.fixture
def recheck(settings):
    def set_seconds(seconds):
        settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING,
                                      "STATE_RECHECK_SECONDS": seconds}

    return set_seconds


def in_another_process(monkeypatch):
    """Run licensing actions as another process would: the database changes, this process's
    cache and memory are not told (the other process published to its own cache)."""
    monkeypatch.setattr(cache, "publish_version", lambda version: None)


def state_row():
    return LicensingState.objects.values_list("version", "access_epoch").get()


def test_the_warm_check_makes_one_query_per_interval(editor, installed, clock):
    grant(editor, "editor")
    enforcement.lookup(editor)  # warm
    with count_queries() as queries:
        for _ in range(10):
            assert enforcement.lookup(editor).access.admin == AdminAccess.FULL
            clock.advance(0.4)  # 4 s in all: within the default 5
    assert len(queries) == 0
    clock.advance(1.5)
    with count_queries() as queries:
        for _ in range(10):
            assert enforcement.lookup(editor).access.admin == AdminAccess.FULL
    assert len(queries) == 1, queries  # the recheck; nothing changed, nothing recomputed
    assert "licensingstate" in queries.sql[0]
    assert '"version"' in queries.sql[0] and '"access_epoch"' in queries.sql[0]


def test_a_recall_by_another_process_applies_after_the_interval_not_before(
        editor, installed, clock, monkeypatch):
    grant(editor, "editor")
    assert enforcement.lookup(editor).access.admin == AdminAccess.FULL
    version = state_row()[0]
    in_another_process(monkeypatch)
    operations.recall([editor], ["editor"])
    assert state_row()[0] == version + 1
    clock.advance(4.9)
    with count_queries() as queries:
        assert enforcement.lookup(editor).access.admin == AdminAccess.FULL  # not yet
    assert len(queries) == 0
    clock.advance(0.1)
    assert enforcement.lookup(editor).access.admin == AdminAccess.DENIED
    assert enforcement.lookup(editor).version == version + 1


def test_a_grant_by_another_process_reaches_a_warm_process(editor, installed, clock,
                                                           monkeypatch, client):
    login(client, editor)
    assert client.get(ADMIN).status_code == 403
    in_another_process(monkeypatch)
    grant(editor, "editor")
    assert client.get(ADMIN).status_code == 403
    clock.advance(5)
    assert client.get(ADMIN).status_code == 200


def test_a_version_bumped_behind_the_caches_back_is_applied_after_the_interval(
        editor, installed, clock):
    grant(editor, "editor")
    first = enforcement.lookup(editor)
    LicensingState.objects.update(version=F("version") + 1)
    assert enforcement.lookup(editor).stamp == first.stamp
    clock.advance(5)
    with count_queries() as queries:
        found = enforcement.lookup(editor)
    assert found.version == first.version + 1
    assert found.stamp != first.stamp
    assert len(queries) > 1  # the recheck, then the decision worked out again


def test_an_access_epoch_bumped_behind_the_caches_back_is_applied_after_the_interval(
        editor, editors_group, installed, clock):
    """A permission change made in another process: the group loses the admin permission
    there, with no signal here, and the epoch moves on."""
    grant(editor, "editor")
    assert enforcement.lookup(editor).access.admin == AdminAccess.FULL
    through = editors_group.permissions.through
    through.objects.filter(group=editors_group).delete()  # no m2m_changed: nothing told
    LicensingState.objects.update(access_epoch=F("access_epoch") + 1)
    editor = type(editor).objects.get(pk=editor.pk)  # a new request: permissions not cached
    clock.advance(4.9)
    assert enforcement.lookup(editor).access.admin == AdminAccess.FULL  # not yet
    clock.advance(0.1)
    assert enforcement.lookup(editor).access.admin == AdminAccess.NOT_ADMIN


def test_zero_seconds_rereads_the_state_on_every_request(editor, installed, recheck,
                                                         monkeypatch):
    recheck(0)
    grant(editor, "editor")
    enforcement.lookup(editor)
    with count_queries() as queries:
        for _ in range(3):
            enforcement.lookup(editor)
    assert len(queries) == 3
    in_another_process(monkeypatch)
    operations.recall([editor], ["editor"])
    assert enforcement.lookup(editor).access.admin == AdminAccess.DENIED


def test_a_change_applies_at_once_in_the_process_that_made_it(editor, installed, clock,
                                                              recheck, client):
    """However long the interval: this process publishes its own change to itself."""
    recheck(3600)
    grant(editor, "editor")
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    operations.recall([editor], ["editor"])
    assert client.get(ADMIN).status_code == 403
    grant(editor, "editor")
    assert client.get(ADMIN).status_code == 200


def test_an_invalid_setting_falls_back_to_the_default(editor, installed, clock, recheck):
    recheck("soon")  # system check wagtail_licensing.E017 reports it
    grant(editor, "editor")
    enforcement.lookup(editor)
    with count_queries() as queries:
        enforcement.lookup(editor)
    assert len(queries) == 0
    clock.advance(5)
    with count_queries() as queries:
        enforcement.lookup(editor)
    assert len(queries) == 1


# What bumps the access epoch ------------------------------------------------------------------


def test_group_and_permission_changes_bump_the_access_epoch(editor, managers_group, installed):
    epoch = state_row()[1]
    editor.groups.add(managers_group)
    assert state_row()[1] == epoch + 1
    editor.first_name = "Eddie"
    editor.save()
    assert state_row()[1] == epoch + 2
    managers_group.permissions.remove(Permission.objects.get(codename="can_manage_lic_users"))
    assert state_row()[1] == epoch + 3
    assert state_row()[0] == LicensingState.get().version  # no licensing change


def test_signing_in_does_not_bump_the_access_epoch(client, editor, installed):
    grant(editor, "editor")
    before = state_row()
    response = client.post("/admin/login/", {"username": "editor", "password": "pw"})
    assert response.status_code == 302
    assert client.get(ADMIN).status_code == 200
    assert state_row() == before


@pytest.mark.django_db(transaction=True)
def test_one_transaction_bumps_the_access_epoch_once(make_users, editors_group, managers_group):
    """However many users and groups change in it: one renewal after the commit."""
    LicensingState.get()
    users = make_users(20)
    epoch = state_row()[1]
    with transaction.atomic():
        editors_group.user_set.add(*users)
        for user in users[:5]:
            user.groups.add(managers_group)
            user.save()
        assert state_row()[1] == epoch  # not before the commit
    assert state_row()[1] == epoch + 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_bumps_nothing(editor, managers_group):
    LicensingState.get()
    epoch = state_row()[1]
    with pytest.raises(RuntimeError), transaction.atomic():
        editor.groups.add(managers_group)
        raise RuntimeError
    assert state_row()[1] == epoch
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            editor.groups.add(managers_group)
            raise RuntimeError
        editor.groups.add(managers_group)  # a renewal of its own: the first was dropped
    assert state_row()[1] == epoch + 1
