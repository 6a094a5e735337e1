"""Admin access under the license rules: demo mode, licensed and unlicensed users, managers,
portal users, expiry and grace days, the cached decision and its invalidation."""

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse

from tests.support.enforcement import (
    ADMIN,
    LICENSE_MANAGER,
    PAGES,
    SESSIONS,
    grant,
    login,
    main_menu_names,
    request_for,
)
from tests.support.licenses import product, today
from tests.support.queries import count_queries
from wagtail_licensing import enforcement, operations
from wagtail_licensing.enforcement import AdminAccess, snapshot
from wagtail_licensing.models import PortalUser


@pytest.fixture
def licensing(settings, vendor):
    """Change WAGTAIL_LICENSING settings for one test: licensing(DEMO_ACCESS="managers")."""

    def update(**values):
        settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, **values}

    return update


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# Demo mode ------------------------------------------------------------------------------------


def test_demo_mode_all_lets_every_admin_user_in(client, editor, state):
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 200
    assert enforcement.get_access(editor).admin == AdminAccess.FULL


def test_demo_mode_banner_for_managers_only(client, editor, manager, state):
    response = login(client, manager).get(ADMIN)
    assert response.status_code == 200
    assert b'data-wagtail-licensing-alert="demo"' in response.content
    assert b"runs in demo mode" in response.content
    response = login(client, editor).get(ADMIN)
    assert b"data-wagtail-licensing-alert" not in response.content


def test_demo_mode_managers_only(client, editor, manager, state, licensing):
    licensing(DEMO_ACCESS="managers")
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403
    assert b"only license managers can use the admin" in response.content
    response = login(client, manager).get(ADMIN)
    assert response.status_code == 200
    assert b'data-wagtail-licensing-alert="demo_managers"' in response.content


def test_demo_mode_keeps_portal_users_out(client, editor, state):
    PortalUser.objects.create(user=editor)
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403
    assert b"portal account" in response.content


# Installed license: editors -------------------------------------------------------------------


def test_unlicensed_editor_gets_the_clear_page(client, editor, manager, installed):
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403
    content = response.content.decode()
    assert "No license" in content
    assert "has no license to use the admin of Test site" in content
    assert "Ask Morgan Manager for a license." in content
    # The page offers to sign out, and signing out still works.
    assert reverse("wagtailadmin_logout") in content
    assert client.post(reverse("wagtailadmin_logout")).status_code == 302


def test_unlicensed_editor_is_kept_out_of_every_admin_page(client, editor, installed):
    login(client, editor)
    for url in (PAGES, "/admin/images/", "/admin/account/", LICENSE_MANAGER, SESSIONS):
        assert client.get(url).status_code == 403, url


def test_contact_setting_names_who_to_ask(client, editor, installed, licensing):
    licensing(LICENSE_CONTACT="the IT service desk (it@example.com)")
    response = login(client, editor).get(ADMIN)
    assert b"Ask the IT service desk (it@example.com) for a license." in response.content


def test_licensed_editor_works_normally(client, editor, installed):
    grant(editor, "editor")
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/account/").status_code == 200


def test_recall_locks_out_on_the_next_request(client, editor, installed):
    grant(editor, "editor")
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    operations.recall([editor], ["editor"])
    assert client.get(ADMIN).status_code == 403
    grant(editor, "editor")
    assert client.get(ADMIN).status_code == 200


def test_new_license_file_takes_effect_on_the_next_request(client, editor, install):
    install()
    grant(editor, "editor")
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    install(products=[product("other", "named", 5)])  # "editor" is no longer licensed
    assert client.get(ADMIN).status_code == 403
    operations.delete_licenses()  # demo mode after a delete: managers only by default
    assert client.get(ADMIN).status_code == 403


def test_deleting_the_license_does_not_open_the_admin(client, editor, manager, install,
                                                     licensing):
    """DEMO_ACCESS "all" is for a site that never had a license; after a delete, unlicensed
    users (and the features that were gated) stay closed unless the site chooses otherwise."""
    install()
    operations.delete_licenses()
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403
    assert not enforcement.has_license(editor, "editor")
    response = login(client, manager).get(ADMIN)
    assert response.status_code == 200
    assert b'data-wagtail-licensing-alert="demo_managers"' in response.content
    licensing(DEMO_ACCESS_AFTER_DELETE="all")
    assert login(client, editor).get(ADMIN).status_code == 200
    assert enforcement.has_license(editor, "editor")


def test_deactivated_user_is_signed_out(client, editor, installed):
    grant(editor, "editor")
    login(client, editor)
    assert client.get(ADMIN).status_code == 200
    editor.is_active = False
    editor.save()
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_portal_user_never_reaches_the_admin(client, editor, installed):
    PortalUser.objects.create(user=editor)
    grant(editor, "portal")
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403
    assert b"portal account" in response.content


def test_user_without_admin_permission_is_left_to_wagtail(client, make_users, installed):
    (user,) = make_users(1)
    user.set_password("pw")
    user.save()
    response = login(client, user).get(ADMIN)
    assert response.status_code == 302  # Wagtail's own "no permission" redirect to the login
    assert enforcement.get_access(user).admin == AdminAccess.NOT_ADMIN


def test_seatless_assignment_grants_nothing(client, install, editors_group, make_users):
    install(products=[product("editor", "named", 5)])
    users = make_users(3, groups=[editors_group])
    operations.grant(users, ["editor"])
    install(products=[product("editor", "named", 2)])  # over-allocated: the last has no seat
    assert enforcement.get_access(users[0]).admin == AdminAccess.FULL
    assert enforcement.get_access(users[2]).admin == AdminAccess.DENIED


def test_admin_products_setting(client, editor, installed, licensing):
    grant(editor, "analytics")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL  # default: named + concurrent
    licensing(ADMIN_PRODUCTS=["editor"])
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL


def test_concurrent_holder_needs_a_slot(editor, installed):
    grant(editor, "occasional")
    access = enforcement.get_access(editor)
    assert access.admin == AdminAccess.CONCURRENT
    assert access.slot_products == ("occasional",)
    grant(editor, "editor")  # a named license: no slot needed
    assert enforcement.get_access(editor).admin == AdminAccess.FULL


# License managers -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_unlicensed_manager_is_sent_to_the_license_manager(client, request, installed, who):
    user = request.getfixturevalue(who)
    login(client, user)
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert response.url == LICENSE_MANAGER
    assert any("As a license manager you can use the licensing screens" in m
               for m in messages_of(response))
    assert client.get(PAGES).url == LICENSE_MANAGER
    assert client.get(LICENSE_MANAGER).status_code == 200
    assert client.get(SESSIONS).status_code == 200
    assert client.get("/admin/account/").status_code == 200
    assert enforcement.get_access(user).admin == AdminAccess.LICENSING


def test_unlicensed_manager_sees_only_the_licensing_menu(client, superuser, installed):
    login(client, superuser)
    assert main_menu_names(client.get(LICENSE_MANAGER)) == ["licensing"]
    grant(superuser, "editor")
    names = main_menu_names(client.get(LICENSE_MANAGER))
    assert {"licensing", "explorer", "images", "documents"} <= set(names)


def test_licensed_manager_uses_the_whole_admin(client, manager, installed):
    grant(manager, "editor")
    login(client, manager)
    assert client.get(ADMIN).status_code == 200
    assert client.get("/admin/account/").status_code == 200
    assert client.get(LICENSE_MANAGER).status_code == 200


def test_becoming_a_manager_takes_effect_on_the_next_request(client, editor, managers_group,
                                                             installed):
    login(client, editor)
    assert client.get(LICENSE_MANAGER).status_code == 403
    editor.groups.add(managers_group)
    assert client.get(LICENSE_MANAGER).status_code == 200
    editor.groups.remove(managers_group)
    assert client.get(LICENSE_MANAGER).status_code == 403


def test_group_permission_change_takes_effect_on_the_next_request(client, editor, installed):
    login(client, editor)
    group = editor.groups.get()
    assert client.get(LICENSE_MANAGER).status_code == 403
    group.permissions.add(Permission.objects.get(codename="can_manage_lic_users"))
    assert client.get(LICENSE_MANAGER).status_code == 200
    Group.objects.filter(pk=group.pk).delete()
    assert client.get(LICENSE_MANAGER).status_code == 302  # no admin access at all now


# Expiry -----------------------------------------------------------------------------------------


def expired_license(install, days_ago=1):
    return install(products=[
        product("editor", "named", 5, valid_from=today() - timedelta(days=30),
                valid_until=today() - timedelta(days=days_ago)),
        product("analytics", "named", None),
    ])


def test_expired_product_grants_nothing(client, editor, install):
    install()
    grant(editor, "editor")
    expired_license(install)
    response = login(client, editor).get(ADMIN)
    assert response.status_code == 403


def test_product_valid_until_today_still_grants(editor, install):
    install(products=[product("editor", "named", 5, valid_until=today())])
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL


def test_grace_days(editor, install, licensing):
    install()
    grant(editor, "editor")
    expired_license(install, days_ago=2)
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED
    licensing(GRACE_DAYS=2)
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    licensing(GRACE_DAYS=1)
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED


def test_expiry_takes_effect_at_local_midnight_without_a_change(editor, install):
    install(products=[product("editor", "named", 5, valid_until=today())])
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    with mock.patch.object(snapshot, "site_today", return_value=today() + timedelta(days=1)):
        assert enforcement.get_access(editor).admin == AdminAccess.DENIED


def test_cache_entries_expire_at_the_next_local_midnight():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")  # tests.settings.TIME_ZONE
    now = datetime(2026, 6, 1, 23, 0, tzinfo=london)
    assert snapshot.seconds_until_midnight(now) == 3600


def test_site_date_ignores_the_users_time_zone(settings):
    from django.utils import timezone

    with timezone.override("Pacific/Kiritimati"):  # UTC+14
        assert snapshot.site_today() == timezone.localdate(
            timezone=timezone.get_default_timezone())


def test_valid_until_ends_at_midnight_in_the_sites_time_zone(editor, install, settings):
    """Not at midnight UTC, nor at midnight in the time zone a view activated (a user's)."""
    from datetime import UTC, datetime

    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Tokyo"  # UTC+9 all year
    last_day = snapshot.site_today()
    install(products=[product("editor", "named", 5, valid_from=last_day - timedelta(days=9),
                              valid_until=last_day)])
    grant(editor, "editor")

    def admin_at(hour, minute, grace=0):
        settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "GRACE_DAYS": grace}
        instant = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC).replace(
            hour=hour, minute=minute)
        with mock.patch("django.utils.timezone.now", return_value=instant), \
                timezone.override("America/New_York"):
            return enforcement.get_access(editor).admin

    assert admin_at(14, 59) == AdminAccess.FULL  # 23:59 in Tokyo, the last day
    # 00:01 in Tokyo, the next day (UTC: still the last)
    assert admin_at(15, 1) == AdminAccess.DENIED
    assert admin_at(15, 1, grace=1) == AdminAccess.FULL
    assert admin_at(23, 59, grace=1) == AdminAccess.FULL
    assert admin_at(23, 59, grace=0) == AdminAccess.DENIED


def test_manager_logging_in_with_an_expired_product_lands_on_the_license_manager(
        client, manager, install):
    install()
    grant(manager, "analytics")
    expired_license(install)
    client.post(reverse("wagtailadmin_login"), {"username": "manager", "password": "pw"})
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert response.url == LICENSE_MANAGER
    assert any("expired on" in m for m in messages_of(response))
    # The License manager shows it as a message, not a second time among the warnings.
    content = client.get(LICENSE_MANAGER).content.decode()
    assert 'data-wagtail-licensing-alert="expired"' not in content
    response = client.get(ADMIN)
    assert response.status_code == 200  # only the first request after logging in
    assert 'data-wagtail-licensing-alert="expired"' in response.content.decode()


def test_manager_login_respects_next_to_a_licensing_page(client, manager, install):
    install()
    grant(manager, "analytics")
    expired_license(install)
    response = client.post(reverse("wagtailadmin_login"), {
        "username": "manager", "password": "pw", "next": SESSIONS})
    assert response.url == SESSIONS
    response = client.get(SESSIONS)
    assert response.status_code == 200
    assert any("expired on" in m for m in messages_of(response))


def test_manager_login_over_allocated(client, manager, install, make_users, editors_group):
    install(products=[product("editor", "named", 5), product("analytics", "named", None)])
    grant(manager, "analytics")
    operations.grant(make_users(4, groups=[editors_group]), ["editor"])
    install(products=[product("editor", "named", 2), product("analytics", "named", None)])
    client.post(reverse("wagtailadmin_login"), {"username": "manager", "password": "pw"})
    response = client.get(ADMIN)
    assert response.url == LICENSE_MANAGER
    assert any("over-allocated" in m for m in messages_of(response))


def test_banner_warns_managers_of_expiry_and_seats(client, manager, editor, install, licensing,
                                                   make_users, editors_group):
    install(products=[
        product("editor", "named", 10, valid_until=today() + timedelta(days=12)),
        product("analytics", "named", None),
        product("seats", "named", 2),
    ])
    grant(manager, "analytics")
    operations.grant(make_users(2, groups=[editors_group]), ["seats"])
    grant(editor, "analytics")
    content = login(client, manager).get(ADMIN).content.decode()
    assert 'data-wagtail-licensing-alert="expiring"' in content
    assert "expires in 12 days" in content
    assert 'data-wagtail-licensing-alert="seats"' in content
    assert "uses 2 of its 2 seats" in content
    # Shown among Wagtail's own messages (w-teleport), dismissible (w-dismissible).
    assert 'data-w-teleport-target-value="#main .messages ul"' in content
    assert 'data-controller="w-dismissible"' in content
    content = login(client, editor).get(ADMIN).content.decode()
    assert "data-wagtail-licensing-alert" not in content
    licensing(WARN_DAYS=5, SEAT_WARNING_THRESHOLD=1.5)
    content = login(client, manager).get(ADMIN).content.decode()
    assert "data-wagtail-licensing-alert" not in content


# Speed: the warm check makes no query ---------------------------------------------------------


def test_warm_check_makes_zero_queries(editor, manager, installed):
    """The middleware's own work, for a licensed editor, a licensed manager (alerts) and a
    manager without a license on a licensing page: no query once warm."""
    from wagtail_licensing.middleware import LicenseEnforcementMiddleware

    grant(editor, "editor")
    middleware = LicenseEnforcementMiddleware(lambda request: None)
    cases = [(editor, ADMIN), (editor, PAGES), (manager, LICENSE_MANAGER), (manager, SESSIONS)]
    for user, path in cases:
        assert middleware.check(request_for(user, path)) is None  # cold: fills the cache
    with count_queries() as queries:
        for _ in range(5):
            for user, path in cases:
                assert middleware.check(request_for(user, path)) is None
    assert len(queries) == 0, [q["sql"] for q in queries]
    grant(manager, "analytics")
    middleware.check(request_for(manager, ADMIN))
    with count_queries() as queries:
        assert middleware.check(request_for(manager, ADMIN)) is None
    assert len(queries) == 0


def test_warm_decision_for_a_denied_user_makes_zero_queries(editor, installed):
    enforcement.lookup(editor)
    with count_queries() as queries:
        assert enforcement.lookup(editor).access.admin == AdminAccess.DENIED
        assert not enforcement.has_license(editor, "editor")
    assert len(queries) == 0


def test_warm_request_adds_no_query_to_what_the_view_makes(client, editor, installed, settings):
    """Whole requests: with the middleware the dashboard makes as many queries as without."""
    grant(editor, "editor")
    login(client, editor)

    def count():
        client.get(ADMIN)  # warm Wagtail's and our caches
        with count_queries() as queries:
            assert client.get(ADMIN).status_code == 200
        return len(queries)

    with_check = count()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "wagtail_licensing" not in m]
    without_check = count()
    assert with_check == without_check


def test_a_change_costs_one_recomputation(editor, installed):
    grant(editor, "editor")
    enforcement.get_access(editor)
    operations.grant([editor], ["analytics"])
    with count_queries() as queries:
        access = enforcement.get_access(editor)
    assert access.has_license("analytics")
    assert 0 < len(queries) <= 8
    with count_queries() as queries:
        enforcement.get_access(editor)
    assert len(queries) == 0


def test_settings_change_is_never_served_from_old_entries(editor, installed, licensing):
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    licensing(ADMIN_PRODUCTS=["analytics"])
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED


def test_cache_loss_is_harmless(editor, installed):
    grant(editor, "editor")
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    cache.clear()
    assert enforcement.get_access(editor).admin == AdminAccess.FULL
    operations.recall([editor], ["editor"])
    cache.clear()
    assert enforcement.get_access(editor).admin == AdminAccess.DENIED


def test_anonymous_and_inactive_users_have_no_access(editor, installed):
    from django.contrib.auth.models import AnonymousUser

    assert enforcement.get_access(AnonymousUser()) is None
    editor.is_active = False
    assert enforcement.get_access(editor) is None
    assert not enforcement.has_license(editor, "editor")


def test_admin_json_requests_get_a_403_not_a_page(client, manager, installed):
    login(client, manager)
    response = client.get(PAGES, headers={"x-requested-with": "XMLHttpRequest"})
    assert response.status_code == 403


def test_front_end_is_not_affected(client, editor, installed):
    login(client, editor)
    assert client.get("/").status_code == 200


def test_cached_access_keeps_its_enums(manager, installed):
    """The cache pickles ``Access`` with its enums as values; they come back as enums."""
    import pickle

    from wagtail_licensing.enforcement import Reason
    from wagtail_licensing.rules.status import AlertKind

    access = enforcement.get_access(manager)  # a manager without a license: with alerts
    again = pickle.loads(pickle.dumps(access))  # noqa: S301 - our own value
    assert again == access
    assert type(again.admin) is AdminAccess and again.admin == AdminAccess.LICENSING
    assert type(again.reason) is Reason and again.reason == Reason.UNLICENSED
    assert all(type(alert.kind) is AlertKind for alert in again.alerts)
