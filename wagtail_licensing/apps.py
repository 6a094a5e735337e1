from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailLicensingAppConfig(AppConfig):
    name = "wagtail_licensing"
    label = "wagtail_licensing"
    verbose_name = _("Licensing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered explicitly rather than by import side effects elsewhere.
        from . import (
            checks,  # noqa: F401
            reclaim,
        )
        from .enforcement import signals

        signals.register()
        reclaim.connect()
