"""The test settings with a custom user model and a custom Wagtail user viewset.

Used by tests/project/test_custom_user_model.py, which runs
tests/custom_user/checks_custom_user.py in a separate process (AUTH_USER_MODEL cannot change
within one).
"""

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

AUTH_USER_MODEL = "custom_user.Member"
INSTALLED_APPS = [
    "tests.custom_user.apps.CustomUserAppConfig",
    *["tests.custom_user.apps.ProjectWagtailUsersAppConfig" if app == "wagtail.users" else app
      for app in INSTALLED_APPS],
]
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # The main suite may be using the usual test database at the same time.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = "test_wagtail_licensing_custom_user"
