"""The actions layer: what the base action guarantees for every action, and the one
eligibility rule that grants, imports, the product page and the Licenses tab all follow."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.support.licenses import today
from wagtail_licensing import cache, importing, operations
from wagtail_licensing.actions.results import GrantRefusalReason
from wagtail_licensing.exceptions import LicensingPermissionDenied
from wagtail_licensing.models import (
    Ineligibility,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
)
from wagtail_licensing.resources import read_assignments
from wagtail_licensing.user_forms import grant_options, user_license_options


def csv_rows(*rows):
    return read_assignments("\n".join(["username,product,action", *rows]).encode(),
                            filename="test.csv")


# The base action ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cache_that_is_down_does_not_undo_or_fail_a_recall(install, make_users, settings,
                                                             caplog):
    install()
    users = make_users(2)
    operations.grant(users, ["editor"])
    version = LicensingState.get().version
    settings.CACHES = {**settings.CACHES, "down": {
        "BACKEND": "tests.support.broken_cache.BrokenCache"}}
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "CACHE_ALIAS": "down"}
    cache.forget_failure()
    with caplog.at_level(logging.WARNING, logger="wagtail_licensing"):
        result = operations.recall(users[:1], ["editor"])  # commits: a transactional test
    assert result.recalled == {"editor": [users[0].username]}
    # Committed: another read of the database sees the recall and the new version.
    assert set(LicenseAssignment.objects.values_list("user__username", flat=True)) == {
        users[1].username}
    assert LicensingState.get().version == version + 1
    assert ModelLogEntry.objects.filter(action=operations.ACTION_RECALL).count() == 1
    assert "The licensing cache 'down' failed (set: CacheDown" in caplog.text


def test_publication_happens_after_the_work(installed, make_users, monkeypatch):
    published = []
    monkeypatch.setattr(cache, "publish_version", published.append)
    operations.grant(make_users(1), ["editor"])
    assert published == [LicensingState.get().version]


def test_a_user_without_the_permission_is_refused_and_nothing_changes(installed, make_users,
                                                                      editor):
    users = make_users(2)
    with pytest.raises(LicensingPermissionDenied) as denied:
        operations.grant(users, ["editor"], user=editor)
    assert isinstance(denied.value, PermissionDenied)
    assert "CanManageLicUsers" in str(denied.value) and editor.username in str(denied.value)
    assert not LicenseAssignment.objects.exists()
    assert not ModelLogEntry.objects.filter(action=operations.ACTION_GRANT).exists()
    with pytest.raises(LicensingPermissionDenied):
        operations.delete_licenses(user=editor)
    assert not LicensingState.get().demo_mode


def test_a_manager_and_site_code_may_act(installed, make_users, manager):
    assert operations.grant(make_users(1), ["editor"], user=manager).granted_count == 1
    assert operations.grant(make_users(1, prefix="site"), ["editor"]).granted_count == 1
    entry = ModelLogEntry.objects.filter(action=operations.ACTION_GRANT).order_by("pk").first()
    assert entry.user_id == manager.pk


def test_own_slot_and_own_deactivation_need_no_permission(installed, make_users, editor):
    (holder,) = make_users(1)
    operations.grant([holder], ["occasional"])
    slot = operations.take_concurrent_slot(holder, ["occasional"], token="t1")
    assert operations.touch_concurrent_slot("t1", user=holder,
                                            product_codes=["occasional"]) == "occasional"
    operations.end_concurrent_session("t1")
    assert not type(slot).objects.exists()
    # A user admin without CanManageLicUsers deactivates a holder: seats follow all the same.
    get_user_model().objects.filter(pk=holder.pk).update(is_active=False)
    operations.users_status_changed([holder], user=editor)
    entry = ModelLogEntry.objects.get(action=operations.ACTION_USER_STATUS)
    assert entry.data["event"] == "deactivated" and entry.user_id == editor.pk


# Eligibility: one rule, every surface ------------------------------------------------------


def test_sql_and_python_forms_of_eligibility_agree(installed, make_users):
    people = (make_users(2) + make_users(1, prefix="gone", active=False)
              + make_users(2, prefix="customer", portal=True)
              + make_users(1, prefix="oldcustomer", portal=True, active=False))
    User = get_user_model()
    flags = {u.pk: (u.is_active, hasattr(u, "licensing_portal_user")) for u in
             User.objects.select_related("licensing_portal_user").filter(
                 pk__in=[p.pk for p in people])}
    for product in LicensedProduct.objects.installed():
        by_rule = {pk for pk, (active, portal) in flags.items()
                   if product.ineligibility(is_active=active, is_portal=portal) is None}
        by_sql = set(product.eligible_users(User.objects.filter(pk__in=list(flags)))
                     .values_list("pk", flat=True))
        assert by_sql == by_rule, product.code
        assert by_rule  # each product has someone who may hold it


def test_every_surface_asks_the_products_validity_rule(installed, make_users, manager,
                                                       client, monkeypatch):
    """Change the rule on the model only: a surface with a rule of its own would not follow."""
    (person,) = make_users(1)
    monkeypatch.setattr(LicensedProduct, "is_grantable_on",
                        lambda self, day: self.code != "editor")
    # Grant.
    result = operations.grant([person], ["editor", "analytics"])
    assert result.refused["editor"].reason == GrantRefusalReason.NOT_GRANTABLE
    assert result.granted["analytics"] == [person.username]
    # Import.
    plan = operations.preview_import(csv_rows(f"{person.username},editor,"))
    assert [error.code for error in plan.errors] == [importing.PRODUCT_NOT_VALID]
    # Licenses tab and the bulk grant's choices.
    options = {option.code: option for option in user_license_options(person, today())}
    assert options["editor"].disabled and not options["portal"].held
    assert "editor" not in {option.code for option in grant_options(today())}
    # The product's "Add users" page.
    client.force_login(manager)
    response = client.get(reverse("wagtail_licensing:product_grant", args=["editor"]))
    assert "cannot be granted today" in response.content.decode()
    response = client.get(reverse("wagtail_licensing:product_grant", args=["analytics"]))
    assert "cannot be granted today" not in response.content.decode()


def test_every_surface_asks_the_products_holder_rule(installed, make_users, manager, client,
                                                     monkeypatch):
    """Make "editor" a product nobody may hold, on the model only: every surface follows."""
    (person,) = make_users(1)
    rule = LicensedProduct.ineligibility
    eligible = LicensedProduct.eligible_users

    def ineligibility(self, *, is_active, is_portal):
        if self.code == "editor":
            return Ineligibility.NOT_FOR_PORTAL
        return rule(self, is_active=is_active, is_portal=is_portal)

    def eligible_users(self, users=None):
        found = eligible(self, users)
        return found.none() if self.code == "editor" else found

    monkeypatch.setattr(LicensedProduct, "ineligibility", ineligibility)
    monkeypatch.setattr(LicensedProduct, "eligible_users", eligible_users)
    result = operations.grant([person], ["editor"])
    assert result.wrong_type["editor"] == [person.username] and not result.granted["editor"]
    plan = operations.preview_import(csv_rows(f"{person.username},editor,"))
    assert [error.code for error in plan.errors] == [importing.TYPE_MISMATCH]
    options = {option.code: option for option in user_license_options(person, today())}
    assert options["editor"].disabled
    assert str(options["editor"].reason) == "Portal users cannot hold this product."
    assert not options["analytics"].disabled
    client.force_login(manager)
    page = client.get(reverse("wagtail_licensing:product_grant", args=["editor"]))
    assert person.username not in page.content.decode()
    page = client.get(reverse("wagtail_licensing:product_grant", args=["analytics"]))
    assert person.username in page.content.decode()
