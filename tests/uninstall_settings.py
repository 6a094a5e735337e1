"""A site on an SQLite file, with the app (tests/project/test_uninstall.py) or, with
WITHOUT_LICENSING=1, after it was removed from INSTALLED_APPS and MIDDLEWARE."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ["UNINSTALL_DATABASE"]}}
WAGTAIL_LICENSING = {"COMPANY_ID": "ACME",
                     "VENDOR_PUBLIC_KEYS": {"test": os.environ.get("UNINSTALL_PUBLIC_KEY", "")}}

if os.environ.get("WITHOUT_LICENSING"):
    INSTALLED_APPS = [app for app in INSTALLED_APPS
                      if app not in ("wagtail_licensing", "tests.testapp", "import_export")]
    MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("wagtail_licensing.")]
    del WAGTAIL_LICENSING
    # A site that removes the app removes its API's include too (docs/upgrading.md).
    ROOT_URLCONF = "tests.uninstall_urls"
    # The docs' snippet that keeps the removed log actions registered (docs/upgrading.md).
    if os.environ.get("UNINSTALL_EXTRA_APP"):
        INSTALLED_APPS = [os.environ["UNINSTALL_EXTRA_APP"], *INSTALLED_APPS]
