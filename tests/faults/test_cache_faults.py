"""The cache failing before, during and after a licensing change commits.

``FlakyCache`` is a working local-memory cache whose calls fail on a schedule: the Nth call
only (a blip), or every call from the Nth on (the server going down part way). For every N
that a grant or a recall makes, the change commits, reports success and is audited, and once
the cache answers again no process keeps a stale decision past ``STATE_RECHECK_SECONDS``.
"""

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from wagtail.models import ModelLogEntry

from tests.admin.test_bulk_actions import grant_url
from tests.support.broken_cache import CacheDown
from tests.support.enforcement import ADMIN
from tests.support.users import holders, messages_of
from wagtail_licensing import cache, operations
from wagtail_licensing.models import LicenseAssignment, LicensingState

pytestmark = pytest.mark.django_db(transaction=True)


class FlakyCache(LocMemCache):
    calls = 0
    fail_from: int | None = None  # every call from this one on fails
    fail_only: int | None = None  # only this call fails

    def _call(name):  # noqa: N805 - builds the methods below
        def method(self, *args, **kwargs):
            cls = type(self)
            cls.calls += 1
            if cls.calls == cls.fail_only or (cls.fail_from is not None
                                              and cls.calls >= cls.fail_from):
                raise CacheDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return getattr(LocMemCache, name)(self, *args, **kwargs)
        return method

    for _name in ("add", "get", "set", "touch", "delete", "has_key", "get_many", "set_many",
                  "delete_many", "incr", "decr", "get_or_set"):
        locals()[_name] = _call(_name)
    del _name

    @classmethod
    def reset(cls, *, fail_from=None, fail_only=None):
        cls.calls, cls.fail_from, cls.fail_only = 0, fail_from, fail_only


@pytest.fixture
def flaky(settings):
    settings.CACHES = {**settings.CACHES, "flaky": {
        "BACKEND": "tests.faults.test_cache_faults.FlakyCache", "LOCATION": "flaky"}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "flaky"}
    FlakyCache.reset()
    cache.forget_failure()
    yield FlakyCache
    FlakyCache.reset()


def calls_made_by(step) -> int:
    FlakyCache.reset()
    step()
    calls = FlakyCache.calls
    FlakyCache.reset()
    return calls


def a_later_process_decides(user) -> int:
    """The status of ``user``'s admin request in a process whose recheck interval is up."""
    cache.forget_seen_state()
    client = Client()
    client.force_login(user)
    return client.get(ADMIN).status_code


def schedule(mode: str, n: int) -> dict:
    return {"fail_only": n} if mode == "blip" else {"fail_from": n}


@pytest.mark.parametrize("mode", ["blip", "down"])
def test_an_admin_grant_commits_whichever_cache_call_fails(flaky, install, make_users, manager,
                                                           editors_group,
                                                           mode):
    """The manager's bulk grant request: the cache is read by the license check before the
    view, by the view, and written after the commit. Whichever call fails, the request is a
    success and the change stands."""
    install()
    operations.grant([manager], ["analytics"])
    probe, *users = make_users(40, groups=[editors_group])
    client = Client()
    client.force_login(manager)
    total = calls_made_by(lambda: client.post(grant_url(probe), {"products": ["editor"]}))
    assert 2 <= total <= len(users)  # the check reads, the grant publishes
    for n, user in enumerate(users[:total], start=1):
        assert a_later_process_decides(user) == 403  # no license: the decision is cached
        version = LicensingState.get().version
        logged = ModelLogEntry.objects.filter(action=operations.ACTION_GRANT).count()
        FlakyCache.reset(**schedule(mode, n))
        response = client.post(grant_url(user), {"products": ["editor"]})
        FlakyCache.reset()  # the cache is back
        assert response.status_code == 302, n
        assert messages_of(response)[-1] == (
            "success", f"Granted CMS editor (editor) to 1 user: {user.username}."), n
        client.get(response["Location"])  # shows (and so clears) the messages
        assert holders("editor") >= {user.username}, n
        assert LicensingState.get().version == version + 1, n
        assert ModelLogEntry.objects.filter(
            action=operations.ACTION_GRANT).count() == logged + 1, n
        assert a_later_process_decides(user) == 200, f"stale after a failure at call {n}"
        operations.recall([user], ["editor"])  # the seat, for the next round


@pytest.mark.parametrize("mode", ["blip", "down"])
def test_a_recall_commits_whichever_cache_call_fails(flaky, install, make_users, editors_group,
                                                    mode):
    """A recall from code (the command, the API): the recalled user never keeps the admin
    once the cache answers again."""
    install()
    probe, user = make_users(2, groups=[editors_group])
    operations.grant([probe, user], ["editor"])
    total = calls_made_by(lambda: operations.recall([probe], ["editor"]))
    assert total >= 1
    for n in range(1, total + 1):
        operations.grant([user], ["editor"])
        assert a_later_process_decides(user) == 200  # licensed, decision cached
        FlakyCache.reset(**schedule(mode, n))
        result = operations.recall([user], ["editor"])
        FlakyCache.reset()
        assert result.recalled == {"editor": [user.username]}, n
        assert not LicenseAssignment.objects.filter(user=user).exists(), n
        assert a_later_process_decides(user) == 403, f"recalled user kept the admin ({n})"
