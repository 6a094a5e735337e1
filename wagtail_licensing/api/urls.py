"""The licensing API's URLs: ``path("api/licensing/v1/", include("wagtail_licensing.api.urls"))``.

The OpenAPI document is served at ``schema/`` when drf-spectacular (the ``api`` extra) is
installed.
"""

from django.urls import URLPattern, path

from . import groups, license_files, openapi, portal_users, usage, views

app_name = "wagtail_licensing_api"

urlpatterns: list[URLPattern] = [
    path("license/", views.LicenseView.as_view(), name="license"),
    path("products/", views.ProductListView.as_view(), name="products"),
    path("products/<str:code>/", views.ProductDetailView.as_view(), name="product"),
    path("assignments/", views.AssignmentListView.as_view(), name="assignments"),
    path("assignments/grant/", views.GrantView.as_view(), name="grant"),
    path("assignments/recall/", views.RecallView.as_view(), name="recall"),
    path("metrics/", views.MetricsView.as_view(), name="metrics"),
    path("users/<str:user>/licenses/", views.UserLicensesView.as_view(), name="user_licenses"),
    path("license-file/", license_files.LicenseFileView.as_view(), name="license_file"),
    path("license-file/preview/", license_files.LicenseFilePreviewView.as_view(),
         name="license_file_preview"),
    path("license-file/confirm/", license_files.LicenseFileConfirmView.as_view(),
         name="license_file_confirm"),
    path("license-request/", license_files.LicenseRequestView.as_view(),
         name="license_request"),
    path("portal-users/", portal_users.PortalUserCreateView.as_view(), name="portal_users"),
    path("portal-users/convert/", portal_users.PortalUserConvertView.as_view(),
         name="portal_user_convert"),
    path("usage/", usage.UsageHistoryView.as_view(), name="usage"),
    path("idle-seats/", usage.IdleSeatsView.as_view(), name="idle_seats"),
    path("groups/", groups.GroupListView.as_view(), name="groups"),
    path("groups/<str:group>/", groups.GroupDetailView.as_view(), name="group"),
    path("groups/<str:group>/bind/", groups.GroupBindView.as_view(), name="group_bind"),
    path("groups/<str:group>/unbind/", groups.GroupUnbindView.as_view(), name="group_unbind"),
    path("group-licenses/reprocess/", groups.ReprocessView.as_view(),
         name="group_licenses_reprocess"),
    path("group-licenses/errors/", groups.LicensingErrorListView.as_view(),
         name="group_licenses_errors"),
]

if openapi.AVAILABLE:
    urlpatterns.append(path("schema/", openapi.schema_view(), name="schema"))
