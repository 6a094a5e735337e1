"""A user holds at most one concurrent slot per product (issue 11, item 1).

An attack campaign saw one session fire three parallel first admin requests right after login
and take all 3 slots of a 3-slot product; logging out freed one. With 10 parallel requests the
user held 3 slots while their own session was signed out (7 requests were refused and signed
it out). Each parallel request found no token in the session (none had saved it yet), so each
took a slot of its own.

The race is replayed here as the requests run it: each loads the session before any of them
saves it, all pass the middleware, then each saves (the last one wins). On PostgreSQL it also
runs for real, with threads.
"""

from importlib import import_module
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.base import UpdateError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.support.enforcement import ADMIN
from tests.support.licenses import DEFAULT_PRODUCTS, product
from tests.support.races import race
from wagtail_licensing import operations
from wagtail_licensing.actions.sessions import TakeSlotAction
from wagtail_licensing.enforcement import sessions as concurrent
from wagtail_licensing.exceptions import NoFreeSlot
from wagtail_licensing.middleware import LicenseEnforcementMiddleware
from wagtail_licensing.models import ConcurrentSession

LOGIN = "/admin/login/"
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


@pytest.fixture
def trio(install, make_users, editors_group):
    """Four editors holding "occasional", here a concurrent product of 3 slots; password "pw"."""
    products = [p for p in DEFAULT_PRODUCTS if p["code"] != "occasional"]
    install(products=[*products, product("occasional", "concurrent", 3,
                                         name="Occasional editor")])
    users = make_users(4, prefix="occ", groups=[editors_group])
    for user in users:
        user.set_password("pw")
        user.save()
    operations.grant(users, ["occasional"])
    return users


def log_in(user):
    """Sign in without following the redirect: no admin request has been made yet."""
    client = Client()
    response = client.post(LOGIN, {"username": user.username, "password": "pw"})
    assert response.status_code == 302, response.content
    return client


def sign_in(user):
    client = log_in(user)
    return client, client.get(ADMIN)


def session_key(client):
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def parallel_first_requests(client, user, count):
    """``count`` admin requests of the client's session, interleaved as parallel requests
    are: each loads the session before any saves it. The middleware's responses."""
    middleware = LicenseEnforcementMiddleware(lambda request: HttpResponse())
    requests = []
    for _ in range(count):
        request = RequestFactory().get(ADMIN)
        request.user = user
        request.session = SessionStore(session_key(client))
        request.session.keys()  # loaded, as SessionMiddleware and request.user load it
        request._messages = FallbackStorage(request)
        requests.append(request)
    responses = [middleware.check(request) for request in requests]
    for request in requests:
        try:
            request.session.save()
        except UpdateError:
            pass  # a request that signed the session out deleted it
    return responses


def slots(user=None):
    qs = ConcurrentSession.objects.all()
    return qs.filter(user=user) if user else qs


@pytest.mark.parametrize("count", [3, 10])
def test_parallel_first_requests_of_one_session_take_one_slot(trio, count):
    client = log_in(trio[0])
    responses = parallel_first_requests(client, trio[0], count)
    assert responses == [None] * count  # every request let through, none signed out
    (slot,) = slots()
    assert slot.user == trio[0]
    # Every racer kept the same token, so whichever saved last, the session holds the slot.
    assert client.session[concurrent.SESSION_KEY] == slot.session_key
    assert client.get(ADMIN).status_code == 200
    assert slots().count() == 1
    # The other two slots are there for two other users.
    for user in trio[1:3]:
        _, response = sign_in(user)
        assert response.status_code == 200
    assert slots().count() == 3


@pytest.mark.parametrize("count", [3, 10])
def test_logout_after_parallel_requests_frees_the_slot(trio, count):
    client = log_in(trio[0])
    parallel_first_requests(client, trio[0], count)
    client.post(reverse("wagtailadmin_logout"))
    assert not slots().exists()
    # Every slot is free again: three other users sign in.
    for user in trio[1:]:
        _, response = sign_in(user)
        assert response.status_code == 200
    assert slots().count() == 3


def test_logout_frees_the_users_slot_whatever_token_the_session_kept(trio):
    client, _ = sign_in(trio[0])
    session = client.session
    del session[concurrent.SESSION_KEY]  # the token lost to a racing request's save
    session.save()
    client.post(reverse("wagtailadmin_logout"))
    assert not slots().exists()


def test_racing_takes_of_one_user_share_one_slot(trio):
    first = operations.take_concurrent_slot(trio[0], ["occasional"], token="racer-1")
    for i in range(2, 10):
        again = operations.take_concurrent_slot(trio[0], ["occasional"], token=f"racer-{i}")
        assert (again.pk, again.session_key) == (first.pk, "racer-1")
    assert slots().count() == 1
    operations.take_concurrent_slot(trio[1], ["occasional"], token="b")
    operations.take_concurrent_slot(trio[2], ["occasional"], token="c")
    with pytest.raises(NoFreeSlot):
        operations.take_concurrent_slot(trio[3], ["occasional"], token="d")


def test_a_racer_the_lock_did_not_stop_shares_the_slot(trio):
    """The database refuses a second slot of one product for one user; the loser of that race
    shares the winner's slot."""
    winner = operations.take_concurrent_slot(trio[0], ["occasional"], token="winner")
    own_slot = TakeSlotAction._own_slot
    calls = []

    def not_seen_yet(self, codes, now):
        calls.append(codes)
        return None if len(calls) == 1 else own_slot(self, codes, now)

    with mock.patch.object(TakeSlotAction, "_own_slot", not_seen_yet):
        loser = operations.take_concurrent_slot(trio[0], ["occasional"], token="loser")
    assert len(calls) == 2
    assert loser.pk == winner.pk and loser.session_key == "winner"
    assert slots().count() == 1


def test_a_signed_out_session_keeps_no_slot(trio):
    """Refused requests sign the session out; the user's slot goes with it."""
    client, _ = sign_in(trio[0])
    assert slots(trio[0]).exists()
    client.post(reverse("wagtailadmin_logout"))
    assert not slots(trio[0]).exists()
    assert client.get(ADMIN).status_code == 302  # signed out
    assert not slots(trio[0]).exists()


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_the_slot_used_last(trio):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate([("wagtail_licensing", "0005_listing_indexes")])
    try:
        old = executor.loader.project_state(
            ("wagtail_licensing", "0005_listing_indexes")).apps.get_model(
            "wagtail_licensing", "ConcurrentSession")
        from django.utils import timezone

        now = timezone.now()
        for i, minutes in enumerate([5, 1, 9]):
            old.objects.create(user_id=trio[0].pk, product_code="occasional",
                               session_key=f"a{i}", last_seen=now - timezone.timedelta(
                                   minutes=minutes))
        old.objects.create(user_id=trio[1].pk, product_code="occasional", session_key="b")
        executor = MigrationExecutor(connection)
        executor.migrate([("wagtail_licensing", "0006_one_slot_per_user")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
    assert set(slots().values_list("session_key", flat=True)) == {"a1", "b"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.usefixtures("postgresql_only")
@pytest.mark.parametrize("count", [3, 10])
def test_parallel_first_requests_for_real(trio, count):
    client = log_in(trio[0])
    cookie = session_key(client)

    def request(_i):
        racer = Client()
        racer.cookies[settings.SESSION_COOKIE_NAME] = cookie
        return racer.get(ADMIN).status_code

    assert race(count, request) == [200] * count
    assert slots().count() == 1
    assert client.get(ADMIN).status_code == 200
    client.post(reverse("wagtailadmin_logout"))
    assert not slots().exists()
    for user in trio[1:]:
        _, response = sign_in(user)
        assert response.status_code == 200


def test_a_release_signs_out_every_session_sharing_the_slot(trio, manager):
    first, _ = sign_in(trio[0])
    second, _ = sign_in(trio[0])  # another browser: the same slot
    (slot,) = slots()
    manager_client = Client()
    manager_client.force_login(manager)
    response = manager_client.post(
        reverse("wagtail_licensing_sessions:release", args=[slot.pk]), follow=True)
    assert "their sessions are signed out on their next request" in response.content.decode()
    for client in (first, second):
        response = client.get(ADMIN)
        assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert not slots().exists()
