"""Feature gating (FEATURES) and the code-level API: has_license, license_required, the
template tags and the REST framework permission."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils.decorators import method_decorator
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from tests.support.enforcement import grant, login, main_menu_names
from tests.support.queries import count_queries
from wagtail_licensing import enforcement, operations
from wagtail_licensing.api import HasLicense
from wagtail_licensing.enforcement import has_feature, has_license, license_required
from wagtail_licensing.models import PortalUser

DOCUMENTS = {"documents": {"products": ["analytics"], "admin_url_prefixes": ["/admin/documents/"],
                           "menu_items": ["documents"], "label": "Documents library"}}


@pytest.fixture
def features(settings, vendor):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": DOCUMENTS}


# In the admin -----------------------------------------------------------------------------------


def test_feature_menu_items_and_urls_need_the_product(client, superuser, installed, features):
    grant(superuser, "editor")
    login(client, superuser)
    names = main_menu_names(client.get("/admin/"))
    assert "documents" not in names
    assert "images" in names
    response = client.get("/admin/documents/")
    assert response.status_code == 403
    content = response.content.decode()
    assert "Your account has no license for <strong>Documents library</strong>" in content
    assert "It needs a license for Analytics (analytics)." in content
    assert 'id="wagtail-sidebar-props"' in content  # shown inside the admin
    assert client.get("/admin/documents/multiple/add/").status_code == 403
    assert client.get("/admin/images/").status_code == 200
    assert not has_feature(superuser, "documents")

    grant(superuser, "analytics")
    assert "documents" in main_menu_names(client.get("/admin/"))
    assert client.get("/admin/documents/").status_code == 200
    assert has_feature(superuser, "documents")


def test_features_are_open_in_demo_mode(client, superuser, state, features):
    login(client, superuser)
    assert "documents" in main_menu_names(client.get("/admin/"))
    assert client.get("/admin/documents/").status_code == 200


def test_settings_menu_items_can_be_gated(client, superuser, installed, settings):
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": {
        "redirects": {"products": ["analytics"], "admin_url_prefixes": ["/admin/redirects/"],
                      "menu_items": ["redirects"]}}}
    grant(superuser, "editor")
    content = login(client, superuser).get("/admin/").content.decode()
    assert '"name": "redirects"' not in content
    assert '"name": "users"' in content  # the rest of the Settings menu stays
    assert client.get("/admin/redirects/").status_code == 403


# has_license ----------------------------------------------------------------------------------


def test_has_license(editor, installed):
    assert not has_license(editor, "editor")
    grant(editor, "editor")
    assert has_license(editor, "editor")
    assert has_license(editor, "analytics", "editor")  # any of them
    assert not has_license(editor, "analytics")
    assert not has_license(AnonymousUser(), "editor")
    with pytest.raises(TypeError):
        has_license(editor)


def test_has_license_in_demo_mode(editor, state, settings):
    assert has_license(editor, "anything")
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "DEMO_ACCESS": "managers"}
    assert not has_license(editor, "anything")


def test_template_tags(editor, installed):
    template = Template('{% load wagtail_licensing_tags %}'
                        '{% has_license "editor" as editor_ok %}'
                        '{% has_license "analytics" "editor" as any_ok %}'
                        '{% has_feature "forms" as forms_ok %}'
                        '{{ editor_ok }} {{ any_ok }} {{ forms_ok }}')
    request = RequestFactory().get("/")
    request.user = editor
    assert template.render(Context({"request": request})) == "False False False"
    grant(editor, "editor")
    assert template.render(Context({"request": request})) == "True True False"
    # Without a request in the context, the tag uses ``user``.
    assert template.render(Context({"user": editor})) == "True True False"
    assert template.render(Context({})) == "False False False"


# license_required -------------------------------------------------------------------------------


@license_required("portal")
def portal_view(request):
    return HttpResponse("portal content")


def _get(user, path="/portal/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_license_required_front_end_view(editor, installed, settings):
    settings.LOGIN_URL = "/login/"
    response = portal_view(_get(AnonymousUser()))
    assert response.status_code == 302
    assert response.url == "/login/?next=/portal/"

    response = portal_view(_get(editor))  # not a portal user
    assert response.status_code == 403
    assert b"has no license for this page" in response.content
    assert b"Customer portal (portal)" in response.content

    PortalUser.objects.create(user=editor)
    operations.grant([editor], ["portal"])
    response = portal_view(_get(editor))
    assert response.status_code == 200
    assert response.content == b"portal content"


def test_license_required_on_a_wagtail_page_serve_method(editor, installed):
    class PortalPage:
        @method_decorator(license_required("portal"))
        def serve(self, request):
            return HttpResponse("page")

    assert PortalPage().serve(_get(editor)).status_code == 403
    PortalUser.objects.create(user=editor)
    operations.grant([editor], ["portal"])
    assert PortalPage().serve(_get(editor)).status_code == 200


def test_license_required_needs_codes():
    with pytest.raises(TypeError):
        license_required()
    with pytest.raises(TypeError):
        license_required(portal_view)


# The REST framework permission ----------------------------------------------------------------


class AnalyticsView(APIView):
    permission_classes = [HasLicense.for_codes("analytics")]

    def get(self, request):
        return HttpResponse("data")


class CodesOnViewView(APIView):
    permission_classes = [HasLicense]
    license_codes = ["editor"]

    def get(self, request):
        return HttpResponse("data")


def _api(view, user=None):
    request = APIRequestFactory().get("/api/")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request)


def test_has_license_permission(editor, installed):
    assert _api(AnalyticsView).status_code == 403  # DRF: no credentials, session auth
    assert _api(AnalyticsView, editor).status_code == 403
    assert _api(CodesOnViewView, editor).status_code == 403
    grant(editor, "analytics")
    assert _api(AnalyticsView, editor).status_code == 200
    assert _api(CodesOnViewView, editor).status_code == 403
    grant(editor, "editor")
    assert _api(CodesOnViewView, editor).status_code == 200


def test_has_license_permission_with_wagtails_api(editor, installed):
    from wagtail.api.v2.router import WagtailAPIRouter
    from wagtail.api.v2.views import PagesAPIViewSet

    class LicensedPagesAPIViewSet(PagesAPIViewSet):
        permission_classes = [HasLicense.for_codes("analytics")]

    router = WagtailAPIRouter("wagtailapi")
    router.register_endpoint("pages", LicensedPagesAPIViewSet)
    view = LicensedPagesAPIViewSet.as_view({"get": "detail_view"})

    def get():
        request = APIRequestFactory().get("/api/v2/pages/999999/")
        request.wagtailapi_router = router
        force_authenticate(request, user=editor)
        return view(request, pk=999999)

    assert get().status_code == 403
    grant(editor, "analytics")
    assert get().status_code == 404  # past the permission check: no such page


def test_has_license_permission_needs_codes(editor, installed):
    class NoCodes(APIView):
        permission_classes = [HasLicense]

    with pytest.raises(TypeError):
        _api(NoCodes, editor)
    with pytest.raises(TypeError):
        HasLicense.for_codes()


def test_access_is_shared_with_the_request(editor, installed):
    grant(editor, "editor")
    request = _get(editor)
    request.wagtail_licensing = enforcement.get_access(editor)
    with count_queries() as queries:
        assert has_license(editor, "editor", request=request)
    assert len(queries) == 0


# FEATURES parsed once per value of the setting --------------------------------------------------


def test_features_are_parsed_once_per_value_of_the_setting(settings):
    from wagtail_licensing.enforcement.access import features as parsed_features

    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": DOCUMENTS}
    first = parsed_features()
    assert parsed_features() is first  # kept, not parsed again
    assert first["documents"].admin_url_prefixes == ("/admin/documents/",)
    with pytest.raises(TypeError):
        first["other"] = first["documents"]  # read-only: shared by every caller
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": {
        "forms": {"products": ["editor"], "admin_url_prefixes": ["/admin/forms/"]}}}
    changed = parsed_features()
    assert set(changed) == {"forms"}
    assert changed["forms"].products == frozenset({"editor"})
    settings.WAGTAIL_LICENSING = {**settings.WAGTAIL_LICENSING, "FEATURES": {}}
    assert dict(parsed_features()) == {}
