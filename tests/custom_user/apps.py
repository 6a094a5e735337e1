from django.apps import AppConfig
from wagtail.users.apps import WagtailUsersAppConfig


class CustomUserAppConfig(AppConfig):
    name = "tests.custom_user"
    label = "custom_user"
    default_auto_field = "django.db.models.BigAutoField"


class ProjectWagtailUsersAppConfig(WagtailUsersAppConfig):
    """How Wagtail lets a project replace its user viewset (``user_viewset``)."""

    user_viewset = "tests.custom_user.viewsets.MemberViewSet"
