"""Settings of the example site: a plain Wagtail site with wagtail-licensing installed."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "wagtail_licensing",
    "demo",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wagtail_licensing.middleware.LicenseEnforcementMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "example_site.wsgi.application"

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

WAGTAIL_SITE_NAME = "wagtail-licensing demo"
# No avatars from an outside service: the demo works offline.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}


def _vendor_keys():
    """Every KID.pem in $WAGTAIL_LICENSING_VENDOR_KEYS_DIR (the demo's keys by default), so a
    vendor can try its own keys without editing code."""
    folder = Path(os.environ.get("WAGTAIL_LICENSING_VENDOR_KEYS_DIR", VAR_DIR / "vendor-keys"))
    if not folder.is_dir():
        return {}
    return {pem.stem: str(pem) for pem in sorted(folder.glob("*.pem"))}


WAGTAIL_LICENSING = {
    "VENDOR_PUBLIC_KEYS": _vendor_keys(),
    "COMPANY_ID": "ACME-DEMO",
    # Form submissions need the Marketing studio.
    "FEATURES": {
        "forms": {"products": ["cms-marketing"], "admin_url_prefixes": ["/admin/forms/"],
                  "menu_items": ["forms"], "label": "Form submissions"},
    },
}

# The license check caches per-user decisions. `runserver` is one process, so the default
# local-memory cache is enough here. With several workers, each applies a change made in another
# within STATE_RECHECK_SECONDS (5 s) anyway; set REDIS_URL (e.g. redis://127.0.0.1:6379/0) for
# a cache they share, where changes apply on the next request and decisions are worked out once.
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["REDIS_URL"]}}
