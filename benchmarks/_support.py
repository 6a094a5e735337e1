"""What the benchmark scripts share: a configured, migrated Django project and a signed license.

Imported by the scripts in this folder before anything else (``import _support``).
"""

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def fresh_postgresql_database(url):
    """Drop and create the PostgreSQL database of ``url`` (its name must start with
    ``bench``, so that a mistyped URL never empties a real database)."""
    from urllib.parse import urlsplit

    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("bench"):
        sys.exit(f"DATABASE_URL names {name!r}: the benchmark empties its database, so its "
                 "name must start with 'bench' (e.g. .../bench_pages).")
    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(db_path, test_environment=False, fresh=False, caches=None, persistent=False):
    """Configure Django from the test settings on ``db_path`` (a SQLite file), or on the
    database named by ``DATABASE_URL`` (dropped and created first when ``fresh``), and
    migrate it. ``caches`` replaces the test settings' ``CACHES``; ``persistent`` keeps the
    database connection across requests (``CONN_MAX_AGE=None``), as production sites do."""
    if fresh and os.environ.get("DATABASE_URL"):
        fresh_postgresql_database(os.environ["DATABASE_URL"])
    # benchmarks/import_export.py would shadow the django-import-export package: move this
    # folder to the end of the path (worker processes still import _support from it), and put
    # the repository (for the test settings) first.
    sys.path[:] = ([str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
                   + [str(HERE)])
    import django
    from django.conf import settings
    from django.core.management import call_command

    from tests import settings as test_settings

    values = {name: getattr(test_settings, name) for name in dir(test_settings)
              if name.isupper()}
    if not os.environ.get("DATABASE_URL"):
        values["DATABASES"] = {"default": {"ENGINE": "django.db.backends.sqlite3",
                                           "NAME": str(db_path)}}
    values["DEBUG"] = False
    if persistent:
        values["DATABASES"]["default"]["CONN_MAX_AGE"] = None
    if caches is not None:
        values["CACHES"] = caches
    settings.configure(**values)
    django.setup()
    if test_environment:
        from django.test.utils import setup_test_environment

        setup_test_environment()  # responses carry their context
    call_command("migrate", verbosity=0)


def install_license(products, license_id="BENCH-1", company_id="BENCH"):
    """Sign a license of ``products`` ((code, type, seats) triples) with a fresh vendor key,
    trust that key for the rest of the run and install the file through the real operation."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.test import override_settings
    from django.utils import timezone

    from wagtail_licensing import operations
    from wagtail_licensing.license_file import sign_payload

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    today = timezone.localdate()
    payload = {
        "format": 1, "license_id": license_id, "company_id": company_id, "instance_id": None,
        "license_version": "1.0",
        "issued_at": (datetime.now(UTC) - timedelta(minutes=1)).replace(
            microsecond=0).isoformat(),
        "products": [{"code": code, "name": code.replace("-", " ").title(), "type": kind,
                      "seats": seats, "valid_from": (today - timedelta(days=1)).isoformat(),
                      "valid_until": (today + timedelta(days=365)).isoformat()}
                     for code, kind, seats in products],
    }
    override_settings(WAGTAIL_LICENSING={"COMPANY_ID": company_id,
                                         "VENDOR_PUBLIC_KEYS": {"bench": public}}).enable()
    return operations.install_license_file(sign_payload(payload, key, "bench")).license_file


def recount_counters(codes):
    """Recount the seat counters of ``codes`` (and the user census) after assignments and
    users were written directly.

    Rows inserted with ``bulk_create`` bypass the actions and signals that keep
    ``ProductUsage`` and ``UserCensus``; on code
    from before the counters (which aggregates assignments on every page) there is nothing
    to recount."""
    try:
        from wagtail_licensing.actions.counters import recount
    except ImportError:
        return False
    recount(codes)
    try:  # and the user census, on code that keeps one
        from wagtail_licensing import census
    except ImportError:
        return True
    census.store(census.count())
    return True


def refresh_statistics(models):
    """What a site's autovacuum would have done by now: ``VACUUM ANALYZE`` the tables of
    ``models`` on PostgreSQL, so that plans and index-only scans are those of a settled
    database (table by table: a database-wide VACUUM also visits the shared catalogs, and
    waits for any other database's open transaction on this server). SQLite is left as a
    site leaves it (no ``ANALYZE``, no ``sqlite_stat1``)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def timed(function, repeats=3, setup=None):
    """``(median seconds, queries of one run)`` of ``function``, after one warm run;
    ``setup`` runs untimed before each run (the warm one too). The median of an even number
    of runs is the upper middle one. What ``api.py``, ``group_licensing.py`` and
    ``bulk_grant.py`` measure with."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if setup:
        setup()
    function()  # warm: content types, caches
    times, queries = [], 0
    for _ in range(repeats):
        if setup:
            setup()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        queries = len(captured.captured_queries)
    times.sort()
    return times[len(times) // 2], queries


PASSTHROUGH_MIDDLEWARE = "_support.PassThroughMiddleware"


class PassThroughMiddleware:
    """What benchmarks put in place of ``LicenseEnforcementMiddleware`` for "checks off": a
    middleware that does nothing, so that both settings run the same depth of middleware.

    On CPython 3.11 the depth of the middleware chain alone changes the cost of a deep page:
    on the Wagtail dashboard one middleware more, whatever it does, costs about 120 more
    minor page faults per request (6-10% of the CPU time measured, as much for this class as
    for the license check; likely the interpreter's frame memory, mapped and unmapped in
    chunks as the stack grows and shrinks). Against the chain with the middleware taken out,
    the comparison measured that, not the license check."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


def checks_off(middleware, enforcement, removed=False):
    """``middleware`` (a ``MIDDLEWARE`` list) with the license check off: ``enforcement``
    replaced by ``PassThroughMiddleware`` (or taken out, with ``removed``)."""
    if removed:
        return [m for m in middleware if m != enforcement]
    return [PASSTHROUGH_MIDDLEWARE if m == enforcement else m for m in middleware]
