"""The license-state version, as every process sees it through Django's cache.

Operations bump ``LicensingState.version`` in the database and publish it here after commit;
per-user decisions are cached under keys that include the version, so a change takes effect on
the next request in every process that shares the cache.
"""

from django.core.cache import caches

from .conf import licensing_settings

VERSION_KEY = "wagtail_licensing:state-version"


def get_cache():
    return caches[licensing_settings.CACHE_ALIAS]


def publish_version(version):
    get_cache().set(VERSION_KEY, version, None)


def current_version():
    """The state version: from the cache once warm, from the database on a miss."""
    cache = get_cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        from .models import LicensingState

        version = LicensingState.get().version
        # add(), not set(): never overwrite a newer version published meanwhile.
        cache.add(VERSION_KEY, version, None)
    return version
