#!/usr/bin/env python
"""Benchmark: usage history at 1,000 and 100,000 holders, and activity recording's cost.

    .venv/bin/python benchmarks/usage.py [--sizes 1000,100000] [--repeats 15] [--requests 100]
    DATABASE_URL=postgres://licensing:licensing@127.0.0.1:5432/bench_usage \\
        .venv/bin/python benchmarks/usage.py

Builds one database (a temporary SQLite file, or the PostgreSQL database named by
``DATABASE_URL``, dropped and created first: its name must start with ``bench``) with a signed
license of three products, then grows it to each size of ``--sizes`` (holders of the named
admin product; every second one also holds an unlimited product; one holder in four has not
used the admin product for 100 days, the others used it in the last ten days; a year of daily
snapshots). At each size, in one process, through Django's full request handler where a page
is measured, as a licensed superuser:

1. **Usage history**: the daily snapshot (``operations.take_usage_snapshot``, refreshing the
   day's rows), the License usage report (first page; one product), the Recall idle seats
   preview for every idle holder, and a product page with its chart of the last year. Median
   CPU time of ``--repeats`` runs (no garbage collection inside one) and the queries of each.
   Target (issue 14): the same number of queries at every size; the time ratio is printed.
2. **Activity recording**: admin requests (the dashboard, Settings > Users, the page explorer)
   with the license check off, on, and on with activity recording taken out (the activity key
   left out of the cache lookup and ``note_activity`` a no-op), alternating single requests;
   then the warm check alone, with and without recording, and its queries. Target: on / off at
   most 1.03 on the dashboard and no query in the warm check (but the re-read of the state
   version every ``STATE_RECHECK_SECONDS``).

CPU time is this process's (``time.process_time``): on PostgreSQL the server's own work is
left out (``benchmarks/pages.py`` adds it), so read the SQLite figures for the server side.
"""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import _support

MIDDLEWARE = "wagtail_licensing.middleware.LicenseEnforcementMiddleware"
URLS = ["/admin/", "/admin/users/", "/admin/pages/"]
ADMIN_PRODUCT = "cms-editor"
TARGET = 1.03
REPORT = "/admin/reports/license-usage/"
RECALL_PREVIEW = "/admin/licensing/users/bulk/recall_idle_seats/?id=all&idle=60"


def build(largest):
    from django.contrib.auth import get_user_model

    from wagtail_licensing import operations

    _support.install_license(
        [
            (ADMIN_PRODUCT, "named", largest + 10),
            ("analytics", "named", None),
            ("occasional", "concurrent", 5),
        ],
        license_id=f"BENCH-{time.time_ns()}",
        company_id="ACME",
    )
    User = get_user_model()
    admin = User.objects.create_superuser("bench", "bench@example.com", "pw")
    operations.grant(User.objects.filter(pk=admin.pk), [ADMIN_PRODUCT])
    history()


def history(days=366):
    """A year of snapshots of every product (what the charts read)."""
    from wagtail_licensing.dates import site_today
    from wagtail_licensing.models import UsageSnapshot

    today = site_today()
    UsageSnapshot.objects.bulk_create(
        UsageSnapshot(
            product_code=code,
            day=today - timedelta(days=n),
            seats=100,
            used=n % 90,
            holders=n % 90,
            active_holders_30d=n % 60,
            peak_sessions=n % 5,
        )
        for code in (ADMIN_PRODUCT, "analytics", "occasional")
        for n in range(1, days)
    )


def add_holders(start, stop):
    """Holders ``user{start..stop}``: the admin product, every second one analytics too; one
    in four idle for 100 days on the admin product, the others active lately."""
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.db.models.functions import Mod

    from wagtail_licensing import operations
    from wagtail_licensing.dates import site_today
    from wagtail_licensing.models import LicenseAssignment

    User = get_user_model()
    last = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    User.objects.bulk_create(
        (
            User(
                username=f"user{i}",
                email=f"user{i}@example.com",
                first_name="User",
                last_name=str(i),
            )
            for i in range(start, stop)
        ),
        batch_size=5000,
    )
    new = User.objects.filter(pk__gt=last)
    operations.grant(new, [ADMIN_PRODUCT])
    operations.grant(new.annotate(m=Mod(F("pk"), 2)).filter(m=0), ["analytics"])
    today = site_today()
    held = LicenseAssignment.objects.filter(user__username__startswith="user").annotate(
        m=Mod(F("user_id"), 4)
    )
    held.filter(m=0, product_code=ADMIN_PRODUCT).update(last_active_on=today - timedelta(days=100))
    held.exclude(m=0).update(last_active_on=today - timedelta(days=3))
    held.filter(product_code="analytics").update(last_active_on=today - timedelta(days=5))
    _support.refresh_statistics([User, LicenseAssignment])


@contextmanager
def no_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def count_queries(function, tries=1):
    """Queries of ``function``: the fewest of ``tries`` runs, so that the re-read of the state
    version a process makes every ``STATE_RECHECK_SECONDS`` is not counted as the page's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _ in range(tries):
        with CaptureQueriesContext(connection) as captured:
            function()
        counts.append(len(captured))
    return min(counts)


def measure(function, repeats):
    """(median CPU ms, median wall ms, queries) of ``function``, warmed once."""
    function()
    cpu, wall = [], []
    for _ in range(repeats):
        with no_gc():
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
    return (
        statistics.median(cpu) * 1000,
        statistics.median(wall) * 1000,
        count_queries(function, tries=3),
    )


def usage_cases(client):
    from wagtail_licensing import operations

    def get(url):
        def request():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return request

    return {
        "Daily snapshot (refresh)": operations.take_usage_snapshot,
        "License usage report": get(REPORT),
        "License usage report: one product": get(f"{REPORT}?product={ADMIN_PRODUCT}"),
        "Recall idle seats preview: all idle": get(RECALL_PREVIEW),
        "Product page, chart of a year": get(
            f"/admin/licensing/products/{ADMIN_PRODUCT}/?usage=365"
        ),
    }


# Activity recording ------------------------------------------------------------------------


class Recording:
    """Turns activity recording off and on again in this process."""

    def __init__(self):
        from wagtail_licensing.enforcement import activity, gate

        self.activity, self.gate = activity, gate
        self.note, self.lookup = activity.note_activity, gate.lookup

    def off(self):
        lookup = self.lookup

        def without_key(user, extra_keys=()):
            return lookup(
                user, [k for k in extra_keys if not k.startswith("wagtail_licensing:active:")]
            )

        self.activity.note_activity = lambda *args, **kwargs: False
        self.gate.lookup = without_key

    def on(self):
        self.activity.note_activity, self.gate.lookup = self.note, self.lookup


def make_client(admin, middleware):
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    client.force_login(admin)
    with override_settings(MIDDLEWARE=middleware):
        for url in URLS:  # loads this client's middleware chain, warms every cache
            assert client.get(url).status_code == 200, url
    return client


def timed(client, url):
    with no_gc():
        start = time.process_time()
        response = client.get(url)
        elapsed = time.process_time() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def enforcement(admin, requests):
    """Median CPU ms per URL and mode ("off", "on", "on, no recording"), queries per mode."""
    from django.conf import settings

    recording = Recording()
    with_check = list(settings.MIDDLEWARE)
    assert MIDDLEWARE in with_check, "the test settings should install the middleware"
    clients = {
        # A middleware that does nothing in its place: the same depth (_support.py says why).
        "off": make_client(admin, _support.checks_off(with_check, MIDDLEWARE)),
        "on": make_client(admin, with_check),
    }
    modes = ["off", "on", "quiet", "on", "off", "quiet"]  # each goes first, each goes last
    samples = {url: {mode: [] for mode in set(modes)} for url in URLS}
    queries = {url: {} for url in URLS}
    for url in URLS:
        for index in range(requests * len(modes) // 2):
            mode = modes[index % len(modes)]
            (recording.off if mode == "quiet" else recording.on)()
            client = clients["off" if mode == "off" else "on"]
            samples[url][mode].append(timed(client, url))
        for mode in ("off", "on", "quiet"):
            (recording.off if mode == "quiet" else recording.on)()
            queries[url][mode] = count_queries(
                lambda c=clients["off" if mode == "off" else "on"], u=url: c.get(u), tries=3
            )
    recording.on()
    medians = {
        url: {mode: statistics.median(values) * 1000 for mode, values in per.items()}
        for url, per in samples.items()
    }
    return medians, queries


def check_alone(admin, recording_on, count=20000):
    """The warm check by itself (no view): µs of CPU per request, queries in ``count``."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from wagtail_licensing.middleware import LicenseEnforcementMiddleware

    recording = Recording()
    (recording.on if recording_on else recording.off)()
    middleware = LicenseEnforcementMiddleware(lambda request: None)
    request = RequestFactory().get("/admin/pages/")
    request.user = admin
    request.session = SessionStore()
    request.session.update({})
    request._messages = FallbackStorage(request)
    middleware.check(request)

    def loop():
        for _ in range(count):
            middleware.check(request)

    with no_gc():
        start = time.process_time()
        queries = count_queries(loop)
        cpu = time.process_time() - start
    recording.on()
    return cpu / count * 1e6, queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument(
        "--sizes", default="1000,100000", help="holders, comma-separated (default 1000,100000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=15, help="runs of each usage case (default 15)"
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="admin requests per URL and mode (default 100)"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    with tempfile.TemporaryDirectory(prefix="wagtail-licensing-bench-") as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3", fresh=True, persistent=True)
        import django
        import wagtail
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from wagtail_licensing.conf import licensing_settings
        from wagtail_licensing.enforcement import activity

        activity._snapshot_day = None
        build(sizes[-1])
        print(
            f"wagtail-licensing usage benchmark: {connection.vendor}, Django "
            f"{django.get_version()}, Wagtail {wagtail.__version__}; IDLE_DAYS "
            f"{licensing_settings.IDLE_DAYS}, {args.repeats} runs per case, "
            f"{args.requests} requests per URL and mode"
        )
        admin = get_user_model().objects.get(username="bench")
        usage, checks, done = {}, {}, 0
        for size in sizes:
            add_holders(done, size)
            done = size
            print(
                f"\n== {size:,} holders (load average {os.getloadavg()[0]:.1f} on "
                f"{os.cpu_count()} cores)"
            )
            client = Client()
            client.force_login(admin)
            usage[size] = {}
            for name, function in usage_cases(client).items():
                usage[size][name] = measure(function, args.repeats)
                cpu, wall, queries = usage[size][name]
                print(f"  {name:<40}{cpu:>9.1f} ms CPU{wall:>9.1f} ms wall{queries:>5} queries")
            medians, queries = enforcement(admin, args.requests)
            alone_on, queries_on = check_alone(admin, True)
            alone_off, queries_off = check_alone(admin, False)
            checks[size] = (medians, queries)
            print(
                f"  {'URL':<16}{'check off':>11}{'check on':>11}{'no recording':>14}"
                f"{'on/off':>8}{'recording':>11}{'queries':>14}"
            )
            for url in URLS:
                m, q = medians[url], queries[url]
                print(
                    f"  {url:<16}{m['off']:>9.2f}ms{m['on']:>9.2f}ms{m['quiet']:>12.2f}ms"
                    f"{m['on'] / m['off']:>8.3f}{m['on'] / m['quiet']:>11.3f}"
                    f"{q['off']:>6} / {q['on']} / {q['quiet']}"
                )
            print(
                f"  The warm check alone: {alone_on:.1f} µs CPU with recording "
                f"({queries_on} queries in 20,000), {alone_off:.1f} µs without "
                f"({queries_off} queries)"
            )
            checks[size] = (medians, queries, queries_on)

    print(
        f"\n{'case':<40}" + "".join(f"{f'{s:,}':>10}" for s in sizes) + f"{'x':>7}{'queries':>14}"
    )
    same_queries = True
    for name in usage[sizes[0]]:
        times = [usage[s][name][0] for s in sizes]
        counts = [usage[s][name][2] for s in sizes]
        same_queries = same_queries and len(set(counts)) == 1
        print(
            f"{name:<40}"
            + "".join(f"{t:>8.1f}ms" for t in times)
            + f"{times[-1] / times[0]:>7.2f}{' / '.join(map(str, counts)):>14}"
        )
    dashboard = max(checks[s][0][URLS[0]]["on"] / checks[s][0][URLS[0]]["off"] for s in sizes)
    warm_queries = max(checks[s][2] for s in sizes)
    recheck = getattr(licensing_settings, "STATE_RECHECK_SECONDS", 0)
    print(
        f"\nQuery counts {'equal' if same_queries else 'NOT equal'} at every size; dashboard "
        f"check on / off at most {dashboard:.3f} (target {TARGET}); warm check with "
        f"recording: at most {warm_queries} queries in 20,000 (re-reads every "
        f"{recheck} s allowed)."
    )
    return 0 if same_queries and dashboard <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
