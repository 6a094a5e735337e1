"""Who gets into the License manager: every URL, as anonymous, editor, manager and superuser."""

import pytest
from django.urls import reverse

from tests.support.menu import licensing_menu, licensing_menu_items
from wagtail_licensing import operations
from wagtail_licensing.models import LicenseAssignment, LicensingState, PendingUpload
from wagtail_licensing.views.viewsets import LicenseManagerViewSet


@pytest.fixture
def site(installed, make_users, manager, editor):
    # The editor holds a license, so that what refuses them is the License manager's own
    # permission check, not license enforcement.
    operations.grant([editor, *make_users(3)], ["editor"], user=manager)
    return installed


def url_kwargs(name, user, site):
    """Arguments for each URL name; a URL added without an entry here fails the test."""
    if name == "upload_preview":
        pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=user,
                                      filename="x.lic", content=b"x") if user else None
        return {"token": pending.token if pending else "00000000-0000-0000-0000-000000000000"}
    if name.startswith("product"):
        return {"code": "editor"}
    if name == "history_download":
        return {"pk": site.pk}
    return {}


# Query strings some screens need to show their page rather than redirect.
QUERY = {"product_recall": "?user={holder}"}

URL_NAMES = sorted(pattern.name for pattern in LicenseManagerViewSet().get_urlpatterns())


def test_every_url_is_walked():
    # Fails when a URL is added to the License manager viewset without being walked here.
    assert URL_NAMES == sorted([
        "activity", "delete", "history", "history_download", "license_manager", "product",
        "product_grant", "product_grant_results", "product_recall", "product_results",
        "request", "upload", "upload_preview",
    ])


def get(client, name, user, site):
    url = reverse(f"wagtail_licensing:{name}", kwargs=url_kwargs(name, user, site))
    holder = LicenseAssignment.objects.filter(product_code="editor").last().user_id
    return client.get(url + QUERY.get(name, "").format(holder=holder))


@pytest.mark.parametrize("name", URL_NAMES)
def test_anonymous_is_sent_to_login(client, site, name):
    response = get(client, name, None, site)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


@pytest.mark.parametrize("name", URL_NAMES)
def test_editor_without_permission_is_refused(client, site, editor, name):
    client.force_login(editor)
    response = get(client, name, editor, site)
    # Wagtail's admin turns PermissionDenied into a redirect home with an error message.
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    messages = [str(m).strip() for m in response.wsgi_request._messages]
    assert "Sorry, you do not have permission to access this area." in messages


@pytest.mark.parametrize("name", URL_NAMES)
@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_managers_and_superusers_get_in(client, site, request, who, name):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = get(client, name, user, site)
    assert response.status_code == 200, (name, response.status_code, response.get("Location"))


def test_editor_cannot_tell_products_apart(client, site, editor):
    """A permission check before the lookup: an unknown product is not a 404 for outsiders."""
    client.force_login(editor)
    response = client.get(reverse("wagtail_licensing:product", args=["no-such-product"]))
    assert response.status_code == 302


def test_unknown_product_is_404_for_managers(client, site, manager):
    client.force_login(manager)
    response = client.get(reverse("wagtail_licensing:product", args=["no-such-product"]))
    assert response.status_code == 404


POSTS = [
    ("delete", {}, {}),
    ("request", {}, {"company_id": "ACME", "license_version": "1.0"}),
    ("product_recall", {"code": "editor"}, {"user": "{holder}"}),
    ("product_grant", {"code": "editor"}, {"user": "{other}"}),
]


@pytest.mark.parametrize("name,kwargs,data", POSTS)
@pytest.mark.parametrize("who", [None, "editor"])
def test_outsiders_cannot_post(client, site, request, make_users, who, name, kwargs, data):
    holder = LicenseAssignment.objects.filter(product_code="editor").last().user_id
    other = make_users(1, prefix="other")[0].pk
    if who:
        client.force_login(request.getfixturevalue(who))
    before = (LicensingState.get().version, LicenseAssignment.objects.count())
    data = {k: v.format(holder=holder, other=other) for k, v in data.items()}
    response = client.post(reverse(f"wagtail_licensing:{name}", kwargs=kwargs), data)
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("wagtail_licensing:license_manager"))
    assert (LicensingState.get().version, LicenseAssignment.objects.count()) == before


def test_outsiders_cannot_confirm_an_upload(client, site, editor, manager, make_license):
    pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE, user=editor,
                                  filename="x.lic", content=make_license().encode())
    client.force_login(editor)
    url = reverse("wagtail_licensing:upload_preview", args=[pending.token])
    response = client.post(url, {"token": pending.token, "action": "confirm"})
    assert response.status_code == 302
    assert LicensingState.get().installed_file_id == site.pk


def test_menu_item_only_for_managers(rf, site, editor, manager):
    request = rf.get("/admin/")
    request.user = editor
    assert "license-manager" not in licensing_menu_items(request)
    request.user = manager
    items = licensing_menu_items(request)
    assert items["license-manager"].url == reverse("wagtail_licensing:license_manager")
    assert str(items["license-manager"].label) == "License manager"


def test_menu_item_hidden_by_its_own_check(rf, editor, manager):
    item = next(i for i in licensing_menu().menu.registered_menu_items
                if i.name == "license-manager")
    assert item.order == 100
    request = rf.get("/admin/")
    request.user = editor
    assert not item.is_shown(request)
    request.user = manager
    assert item.is_shown(request)


def licensing_view_classes():
    """The view class behind every URL of every licensing viewset."""
    from wagtail_licensing.views.viewsets import LicensingViewSetGroup

    for viewset in LicensingViewSetGroup().registerables:
        for pattern in viewset.get_urlpatterns():
            yield viewset.url_namespace, pattern.name, pattern.callback.view_class


@pytest.mark.parametrize(("namespace", "name", "view_class"), list(licensing_view_classes()))
def test_every_licensing_view_is_marked_and_checks_the_policy(namespace, name, view_class):
    # The middleware's contract: licensing screens carry the marker; and each checks
    # CanManageLicUsers through the registered policy.
    from wagtail_licensing.permissions import MANAGE, permission_policy

    assert view_class.wagtail_licensing_screen is True
    assert view_class.permission_policy is permission_policy
    assert view_class.permission_required == MANAGE


def test_viewsets_keep_the_url_namespaces_and_paths():
    assert reverse("wagtail_licensing:license_manager") == "/admin/licensing/"
    assert reverse("wagtail_licensing_users:index") == "/admin/licensing/users/"
    assert reverse("wagtail_licensing_sessions:index") == "/admin/licensing/sessions/"
    assert (reverse("wagtail_licensing_assignments:export")
            == "/admin/licensing/assignments/export/")


def test_licensing_menu_lists_the_screens_in_order(rf, manager, editor):
    request = rf.get("/admin/")
    request.user = manager
    menu = licensing_menu()
    assert menu.is_shown(request)
    assert [item.name for item in menu.menu.menu_items_for_request(request)] == [
        "license-manager", "system-users", "licensing-groups", "concurrent-sessions",
        "api-tokens"]
    request.user = editor
    assert not menu.is_shown(request)
