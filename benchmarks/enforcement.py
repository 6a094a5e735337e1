#!/usr/bin/env python
"""Benchmark: the license check's cost on real admin requests, on and off in the same run.

    .venv/bin/python benchmarks/enforcement.py [--requests 200] [--users 200]

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``) with a
signed license, ``--users`` users and a licensed superuser, then requests the admin dashboard
and two listings (Settings > Users, the page explorer) through Django's full request handler,
alternating requests with ``LicenseEnforcementMiddleware`` in ``MIDDLEWARE`` and without it. Prints
the median CPU time per request of each, their ratio (target: at most 1.05), the queries per request
of each, and the cost of the warm check alone. The cache is the test settings' local-memory
cache; with Redis the check adds one round trip (a single ``get_many``) per admin request.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _support

MIDDLEWARE = "wagtail_licensing.middleware.LicenseEnforcementMiddleware"
URLS = ["/admin/", "/admin/users/", "/admin/pages/"]
TARGET = 1.05


def build(user_count):
    """A license with a named admin product, users holding it, and a licensed superuser."""
    from django.contrib.auth import get_user_model

    from wagtail_licensing import operations

    _support.install_license([("cms-editor", "named", user_count + 10),
                              ("analytics", "named", None)],
                             license_id=f"BENCH-{time.time_ns()}", company_id="ACME")
    User = get_user_model()
    User.objects.bulk_create(
        User(username=f"user{i}", email=f"user{i}@example.com", first_name="User",
             last_name=str(i)) for i in range(user_count))
    admin = User.objects.create_superuser("bench", "bench@example.com", "pw")
    operations.grant(User.objects.all(), ["cms-editor"])
    return admin


def make_client(admin, middleware):
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    client.force_login(admin)
    with override_settings(MIDDLEWARE=middleware):
        for url in URLS:  # loads this client's middleware chain, warms every cache
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    return client


def timed(client, url):
    """CPU time of this process for one request: unlike wall-clock time, it does not count
    what other processes on a busy machine do meanwhile."""
    start = time.process_time()
    response = client.get(url)
    elapsed = time.process_time() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def check_alone(admin, count=20000):
    """The warm check of the middleware by itself (no view), per request."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from wagtail_licensing.middleware import LicenseEnforcementMiddleware

    middleware = LicenseEnforcementMiddleware(lambda request: None)
    request = RequestFactory().get("/admin/pages/")
    request.user = admin
    request.session = SessionStore()
    request.session.update({})
    request._messages = FallbackStorage(request)
    middleware.check(request)
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        for _ in range(count):
            middleware.check(request)
        elapsed = time.perf_counter() - start
    return elapsed / count, len(captured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--requests", type=int, default=200,
                        help="requests per URL and setting (default 200)")
    parser.add_argument("--users", type=int, default=200, help="users in the database")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wagtail-licensing-bench-") as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3")
        import django
        import wagtail
        from django.conf import settings
        from django.db import connection

        admin = build(args.users)
        with_check = list(settings.MIDDLEWARE)
        assert MIDDLEWARE in with_check, "the test settings should install the middleware"
        without_check = [m for m in with_check if m != MIDDLEWARE]
        clients = {"on": make_client(admin, with_check), "off": make_client(admin, without_check)}

        results = {url: {"on": [], "off": []} for url in URLS}
        for url in URLS:
            # Alternate single requests in off-on-on-off order, so that drift (caches, a busy
            # machine) and going first or second hit both settings alike.
            for index in range(args.requests * 2):
                mode = ("off", "on", "on", "off")[index % 4]
                results[url][mode].append(timed(clients[mode], url))

        print(f"wagtail-licensing enforcement benchmark: {connection.vendor}, "
              f"Django {django.get_version()}, Wagtail {wagtail.__version__}, "
              f"{args.users} users, {args.requests} requests per URL and setting, median CPU "
              "time per request")
        print(f"{'URL':<16}{'checks off':>12}{'checks on':>12}{'ratio':>8}"
              f"{'queries off':>13}{'queries on':>12}")
        worst = 0
        for url in URLS:
            off = statistics.median(results[url]["off"]) * 1000
            on = statistics.median(results[url]["on"]) * 1000
            ratio = on / off
            worst = max(worst, ratio)
            print(f"{url:<16}{off:>10.2f}ms{on:>10.2f}ms{ratio:>8.3f}"
                  f"{queries(clients['off'], url):>13}{queries(clients['on'], url):>12}")
        alone, alone_queries = check_alone(admin)
        dashboard = statistics.median(results[URLS[0]]["off"])
        print(f"The warm check alone: {alone * 1e6:.1f} µs per request "
              f"({alone / dashboard:.2%} of the dashboard), {alone_queries} queries.")
        verdict = "met" if worst <= TARGET else "NOT met (run it again on a quieter machine?)"
        print(f"Worst ratio {worst:.3f}: target <= {TARGET} {verdict}.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
