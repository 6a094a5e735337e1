from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("api/licensing/v1/", include("wagtail_licensing.api.urls")),
    path("", include(wagtail_urls)),
]
