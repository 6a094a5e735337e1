import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection, transaction

from tests.support.licenses import DEFAULT_PRODUCTS, Vendor
from tests.support.queries import refresh_planner_statistics
from wagtail_licensing import cache as licensing_cache
from wagtail_licensing import census, operations
from wagtail_licensing.enforcement import activity
from wagtail_licensing.models import LicensingState, PortalUser
from wagtail_licensing.permissions import permission_policy


@pytest.fixture(scope="session")
def vendor():
    return Vendor()


@pytest.fixture
def postgresql_only():
    """Skip on SQLite: races (SQLite serialises writers itself), sizes only PostgreSQL has."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a real PostgreSQL server (set DATABASE_URL); CI runs it there")


@pytest.fixture(autouse=True)
def _licensing_settings(settings, vendor):
    settings.WAGTAIL_LICENSING = {"COMPANY_ID": "ACME",
                                  "VENDOR_PUBLIC_KEYS": {vendor.kid: vendor.public_pem}}


@pytest.fixture(autouse=True)
def _clear_cache():
    # The license-state version lives in the cache and in what this process last read from the
    # database; tests roll the database back, so neither must outlive a test.
    cache.clear()
    licensing_cache.forget_seen_state()
    yield
    cache.clear()
    licensing_cache.forget_seen_state()


@pytest.fixture(autouse=True)
def _no_automatic_snapshot(monkeypatch):
    """The day's usage snapshot is taken by the first licensing read of each process and day,
    which would land in whichever test comes first: off unless a test asks for it
    (``automatic_snapshot``)."""
    monkeypatch.setattr(activity, "_snapshot_day", date.max)


@pytest.fixture
def automatic_snapshot(monkeypatch):
    monkeypatch.setattr(activity, "_snapshot_day", None)


@pytest.fixture(autouse=True)
def _fresh_policy_content_type():
    """Forget the content type the permission policy caches for the process.

    A transactional test flushes the database, and the content types come back with new ids; a
    later test would otherwise look license managers up through the old id and find nobody. (A
    real site never deletes its content types.)
    """
    permission_policy.__dict__.pop("_content_type", None)
    yield


@pytest.fixture(autouse=True)
def _on_commit_at_once(request, monkeypatch):
    """Run ``transaction.on_commit`` callbacks at once in tests that never commit.

    Ordinary tests run inside a transaction that is rolled back, so callbacks that publish the
    licensing state version and renew cached access (enforcement) would never run: run them when
    registered, as the commit right after the operation would. Transactional tests (races,
    browser tests) commit for real and keep Django's behaviour.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = ({"transactional_db", "live_server"} & set(request.fixturenames)
                     or (marker is not None and marker.kwargs.get("transaction")))
    if not transactional:
        monkeypatch.setattr(transaction, "on_commit",
                            lambda func, using=None, robust=False: func())
    yield


_counter = iter(range(1, 10**9))


@pytest.fixture
def make_payload():
    def make(**overrides):
        payload = {
            "format": 1,
            "license_id": f"LIC-{next(_counter)}",
            "company_id": "ACME",
            "instance_id": None,
            "license_version": "1.0",
            "issued_at": (datetime.now(UTC) - timedelta(minutes=1) + timedelta(
                seconds=next(_counter))).replace(microsecond=0).isoformat(),
            "products": copy.deepcopy(DEFAULT_PRODUCTS),
        }
        payload.update(overrides)
        return payload

    return make


@pytest.fixture
def make_license(vendor, make_payload):
    """Signed license file text."""

    def make(**overrides):
        return vendor.sign(make_payload(**overrides))

    return make


@pytest.fixture
def install(db, make_license):
    """Install a license file through the real operation; returns the LicenseFile."""

    def do(user=None, **overrides):
        return operations.install_license_file(make_license(**overrides), user=user).license_file

    return do


@pytest.fixture
def installed(install):
    return install()


@pytest.fixture
def make_users(db):
    User = get_user_model()

    def make(count, prefix="user", active=True, portal=False, groups=()):
        start = User.objects.filter(username__startswith=prefix).count()
        users = User.objects.bulk_create(
            User(username=f"{prefix}{start + i}", email=f"{prefix}{start + i}@example.com",
                 first_name=prefix.title(), last_name=str(start + i), is_active=active)
            for i in range(count)
        )
        users = list(User.objects.filter(username__in=[u.username for u in users]).order_by(
            "pk"))
        if portal:
            PortalUser.objects.bulk_create(PortalUser(user=u) for u in users)
        # bulk_create reaches no signal: recount the user census, as verify --fix would.
        census.store(census.count())
        for group in groups:
            group.user_set.add(*users)
        if count >= 1000:
            refresh_planner_statistics()
        return users

    return make


@pytest.fixture
def managers_group(db):
    group = Group.objects.create(name="License managers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="can_manage_lic_users",
                               content_type__app_label="wagtail_licensing"),
    )
    return group


@pytest.fixture
def editors_group(db):
    group = Group.objects.create(name="Test editors")
    group.permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"))
    return group


@pytest.fixture
def manager(db, managers_group):
    user = get_user_model().objects.create_user("manager", "manager@example.com", "pw",
                                                first_name="Morgan", last_name="Manager")
    user.groups.add(managers_group)
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def editor(db, editors_group):
    user = get_user_model().objects.create_user("editor", "editor@example.com", "pw")
    user.groups.add(editors_group)
    return user


@pytest.fixture
def state(db):
    return LicensingState.get()
