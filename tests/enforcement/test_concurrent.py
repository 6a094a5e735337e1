"""Concurrent licenses: a slot per signed-in user (their sessions share it), taken at login,
freed at logout, after CONCURRENT_IDLE_MINUTES or by a manager; refused logins when every slot
is taken."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.support.enforcement import ADMIN, LICENSE_MANAGER, SESSIONS, grant, request_for
from tests.support.queries import count_queries
from wagtail_licensing import operations
from wagtail_licensing.enforcement import sessions as concurrent
from wagtail_licensing.exceptions import NoFreeSlot
from wagtail_licensing.models import ConcurrentSession

LOGIN = "/admin/login/"


@pytest.fixture
def occasional(installed, make_users, editors_group):
    """Three editors holding the concurrent product "occasional" (2 slots), password "pw"."""
    users = make_users(3, prefix="occ", groups=[editors_group])
    for user in users:
        user.set_password("pw")
        user.save()
    operations.grant(users, ["occasional"])
    return users


def sign_in(user, next_url=None):
    client = Client()
    data = {"username": user.username, "password": "pw"}
    if next_url:
        data["next"] = next_url
    response = client.post(LOGIN, data)
    assert response.status_code == 302, response.content
    return client, client.get(response.url)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def slots(user=None):
    qs = ConcurrentSession.objects.all()
    return qs.filter(user=user) if user else qs


def test_slot_taken_at_login_and_freed_at_logout(occasional):
    client, response = sign_in(occasional[0])
    assert response.status_code == 200
    (slot,) = slots()
    assert (slot.user, slot.product_code) == (occasional[0], "occasional")
    assert client.session[concurrent.SESSION_KEY] == slot.session_key
    client.post(reverse("wagtailadmin_logout"))
    assert not slots().exists()


def test_login_refused_when_every_slot_is_taken(occasional):
    first, _ = sign_in(occasional[0])
    second, _ = sign_in(occasional[1])
    third, response = sign_in(occasional[2])
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert "_auth_user_id" not in third.session  # signed out again
    login_page = third.get(response.url)
    assert ("All 2 concurrent licenses of Occasional editor are in use, so you cannot sign in "
            "now.") in login_page.content.decode()
    assert slots().count() == 2
    # Someone signs out: the slot is free for the next login.
    first.post(reverse("wagtailadmin_logout"))
    third, response = sign_in(occasional[2])
    assert response.status_code == 200


def test_a_users_sessions_share_one_slot(occasional):
    first, _ = sign_in(occasional[0])
    second, response = sign_in(occasional[0])  # a second browser
    assert response.status_code == 200
    (slot,) = slots()
    assert first.session[concurrent.SESSION_KEY] == slot.session_key
    assert second.session[concurrent.SESSION_KEY] == slot.session_key
    _, response = sign_in(occasional[1])  # the second slot is still free
    assert response.status_code == 200
    assert slots().count() == 2
    # Signing out in one browser frees the user's slot; the other browser takes one again.
    second.post(reverse("wagtailadmin_logout"))
    assert not slots(occasional[0]).exists()
    assert first.get(ADMIN).status_code == 200
    assert slots(occasional[0]).count() == 1


def test_idle_slot_is_freed(occasional, settings):
    first, _ = sign_in(occasional[0])
    sign_in(occasional[1])
    slots(occasional[0]).update(last_seen=timezone.now() - timedelta(minutes=31))
    _, response = sign_in(occasional[2])  # takes the idle slot
    assert response.status_code == 200
    assert set(slots().values_list("user", flat=True)) == {occasional[1].pk, occasional[2].pk}
    # The idle user comes back: no slot is free, so they are signed out with the reason.
    with mock.patch.object(concurrent.time, "time", return_value=concurrent.time.time() + 1860):
        response = first.get(ADMIN)
    assert response.url.startswith(LOGIN)
    assert any("are in use" in m for m in messages_of(response))


def test_idle_user_gets_a_free_slot_back_silently(occasional):
    client, _ = sign_in(occasional[0])
    slots().update(last_seen=timezone.now() - timedelta(minutes=45))
    with mock.patch.object(concurrent.time, "time", return_value=concurrent.time.time() + 3600):
        assert client.get(ADMIN).status_code == 200
    assert slots(occasional[0]).get().last_seen > timezone.now() - timedelta(minutes=1)


def test_last_seen_is_refreshed_about_once_a_minute_not_per_request(occasional):
    client, _ = sign_in(occasional[0])
    from wagtail_licensing.middleware import LicenseEnforcementMiddleware

    middleware = LicenseEnforcementMiddleware(lambda request: None)
    session = client.session
    session.keys()  # loaded now, as SessionMiddleware and request.user would have loaded it

    def check():
        request = request_for(occasional[0])
        request.session = session
        return middleware.check(request)

    slots().update(last_seen=timezone.now() - timedelta(minutes=5))
    with count_queries() as queries:
        for _ in range(10):
            assert check() is None
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert slots().get().last_seen < timezone.now() - timedelta(minutes=4)
    later = concurrent.time.time() + concurrent.refresh_seconds() + 1
    with mock.patch.object(concurrent.time, "time", return_value=later):
        with count_queries() as queries:
            assert check() is None
        assert len(queries) == 2  # read and refresh the slot
        with count_queries() as queries:
            assert check() is None
        assert len(queries) == 0
    assert slots().get().last_seen > timezone.now() - timedelta(minutes=1)


def test_manager_sees_and_releases_slots(occasional, client, manager):
    first, _ = sign_in(occasional[0])
    sign_in(occasional[1])
    client.force_login(manager)
    response = client.get(SESSIONS)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Occ 0" in content and "Occ 1" in content
    assert "Occasional editor (occasional): 2 of 2 slots in use." in content
    slot = slots(occasional[0]).get()
    release_url = reverse("wagtail_licensing_sessions:release", args=[slot.pk])
    assert release_url in content
    assert client.get(release_url).status_code == 200
    response = client.post(release_url)
    assert response.url == SESSIONS
    assert not slots(occasional[0]).exists()
    entry = ModelLogEntry.objects.get(action="wagtail_licensing.release")
    assert entry.user == manager
    assert entry.data["released"] == [{"user": "occ0", "product": "occasional"}]
    # The released session is signed out on its next request, with the reason.
    response = first.get(ADMIN)
    assert response.url.startswith(LOGIN)
    assert any("released your concurrent license slot" in m for m in messages_of(response))
    # ... and the slot is free for somebody else.
    _, response = sign_in(occasional[2])
    assert response.status_code == 200


def test_sessions_screen_is_for_managers_only(client, editor, occasional):
    grant(editor, "editor")
    client.force_login(editor)
    assert client.get(SESSIONS).status_code == 302  # Wagtail's "no permission" redirect
    slot_client, _ = sign_in(occasional[0])
    slot = slots().get()
    response = client.post(reverse("wagtail_licensing_sessions:release", args=[slot.pk]))
    assert response.status_code == 302
    assert slots().exists()


def test_manager_without_a_free_slot_is_not_locked_out(occasional, manager, client):
    grant(manager, "occasional")
    sign_in(occasional[0])
    sign_in(occasional[1])
    client.force_login(manager)
    response = client.get(ADMIN)
    assert response.url == LICENSE_MANAGER
    assert any("are in use" in m for m in messages_of(response))
    assert client.get(LICENSE_MANAGER).status_code == 200
    # Not retried, nor said again, on every request: about once a minute.
    with count_queries() as queries:
        response = client.get(SESSIONS)
    assert response.status_code == 200
    assert not any("concurrentsession" in q["sql"] and "INSERT" in q["sql"]
                   for q in queries)
    assert not any("are in use" in m for m in messages_of(response))
    later = concurrent.time.time() + concurrent.refresh_seconds() + 1
    with mock.patch.object(concurrent.time, "time", return_value=later):
        response = client.get(SESSIONS)
    assert any("are in use" in m for m in messages_of(response))
    # A slot frees up: the manager gets the whole admin on the next try.
    slots(occasional[0]).delete()
    later += concurrent.refresh_seconds() + 1
    with mock.patch.object(concurrent.time, "time", return_value=later):
        assert client.get(ADMIN).status_code == 200
    assert slots(manager).exists()


def test_named_license_needs_no_slot(occasional):
    grant(occasional[0], "editor")
    _, response = sign_in(occasional[0])
    assert response.status_code == 200
    assert not slots().exists()


def test_recall_frees_the_slot(occasional):
    client, _ = sign_in(occasional[0])
    assert slots().exists()
    operations.recall([occasional[0]], ["occasional"])
    assert not slots().exists()  # at once: the seat counts are right before any request
    assert client.get(ADMIN).status_code == 403
    assert not slots().exists()


def test_named_license_granted_while_signed_in_frees_the_slot(occasional):
    client, _ = sign_in(occasional[0])
    grant(occasional[0], "editor")
    assert client.get(ADMIN).status_code == 200
    assert not slots().exists()


def test_take_concurrent_slot_operation(occasional):
    a, b, c = occasional
    operations.take_concurrent_slot(a, ["occasional"], token="a")
    operations.take_concurrent_slot(b, ["occasional"], token="b")
    with pytest.raises(NoFreeSlot) as error:
        operations.take_concurrent_slot(c, ["occasional"], token="c")
    assert "All 2 concurrent licenses of Occasional editor are in use" in error.value.message
    # Taking again with the same token replaces the session's slot.
    operations.take_concurrent_slot(a, ["occasional"], token="a")
    assert slots().count() == 2
    # Slots of users who lost the product are freed when slots are counted.
    operations.recall([b], ["occasional"])
    operations.take_concurrent_slot(c, ["occasional"], token="c")
    assert set(slots().values_list("session_key", flat=True)) == {"a", "c"}


def test_take_concurrent_slot_needs_a_valid_assignment(installed, editor):
    with pytest.raises(NoFreeSlot, match="holds no valid concurrent license"):
        operations.take_concurrent_slot(editor, ["occasional"], token="x")


def test_demo_mode_takes_no_slot(client, editor, state):
    client.force_login(editor)
    assert client.get(ADMIN).status_code == 200
    assert not slots().exists()


def test_sessions_tell_two_users_of_the_same_name_apart(occasional, client, manager):
    """Issue 12 item 11: two "Sam Jones" differ by their usernames, in the list and on release."""
    for user in occasional[:2]:
        user.first_name, user.last_name = "Sam", "Jones"
        user.save()
        sign_in(user)
    client.force_login(manager)
    response = client.get(SESSIONS)
    cells = [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", response.content.decode(),
                                                 re.S)]
    assert "occ0" in cells and "occ1" in cells
    release_url = reverse("wagtail_licensing_sessions:release",
                          args=[slots(occasional[1]).get().pk])
    content = client.get(release_url).content.decode()
    assert "<strong>Sam Jones</strong> (occ1)" in content


def test_a_release_by_another_process_signs_the_session_out_within_the_recheck(
        occasional, manager, monkeypatch):
    """The process serving the session shares no cache with the releasing one (LocMemCache):
    it learns of the release from the database (the mark, the state version) within
    ``STATE_RECHECK_SECONDS``, and signs the session out rather than giving it another slot."""
    from wagtail_licensing import cache
    from wagtail_licensing.models import ReleasedSlot

    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    first, response = sign_in(occasional[0])
    assert response.status_code == 200
    assert first.get(ADMIN).status_code == 200  # the slot confirmed and cached
    slot = slots(occasional[0]).get()
    with monkeypatch.context() as other_process:  # its cache and memory, not this one's
        other_process.setattr(cache, "publish_version", lambda version: None)
        other_process.setattr(cache, "mark_released", lambda tokens: None)
        assert operations.release_concurrent_slots([slot], user=manager) == [
            ("occ0", "occasional")]
    assert ReleasedSlot.objects.filter(session_key=slot.session_key).exists()
    now[0] += 4  # within the default 5 seconds: this process has not rechecked yet
    assert first.get(ADMIN).status_code == 200
    now[0] += 2
    response = first.get(ADMIN)
    assert response.url.startswith(LOGIN)
    assert any("released your concurrent license slot" in m for m in messages_of(response))
    assert not slots(occasional[0]).exists()  # not given another slot
    # Signing in again takes a new slot (a new token, never released).
    _, response = sign_in(occasional[0])
    assert response.status_code == 200
    assert slots(occasional[0]).exists()


def test_old_release_marks_are_dropped_at_the_next_release(occasional, manager, settings):
    from wagtail_licensing.models import ReleasedSlot

    stale = ReleasedSlot.objects.create(session_key="old", released_at=timezone.now()
                                        - timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
    sign_in(occasional[0])
    operations.release_concurrent_slots(slots(occasional[0]), user=manager)
    assert not ReleasedSlot.objects.filter(pk=stale.pk).exists()
    assert ReleasedSlot.objects.count() == 1
