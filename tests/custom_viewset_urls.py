"""URLs of the test site plus a project's own user viewset at /admin/project-users/."""

from django.urls import include, path

from tests.testapp.viewsets import ProjectUserViewSet
from tests.urls import urlpatterns as site_urlpatterns

project_users = ProjectUserViewSet("project_users", url_prefix="project-users")

urlpatterns = [
    path("admin/project-users/",
         include((project_users.get_urlpatterns(), "project_users"), namespace="project_users")),
    *site_urlpatterns,
]
