#!/usr/bin/env python
"""Benchmark: the licensing pages at 1,000 and 100,000 users, next to Wagtail's Users listing.

    .venv/bin/python benchmarks/pages.py [--users 100000] [--small 1000] [--repeats 11]
    DATABASE_URL=postgres://licensing:licensing@127.0.0.1:5432/bench_pages \\
        .venv/bin/python benchmarks/pages.py [--assignments 1000000]

Builds one database per size, each in a worker process of its own (a temporary SQLite file,
or the PostgreSQL database named by ``DATABASE_URL`` with the size appended, e.g.
``bench_pages_100000``, dropped and created first: its name must start with ``bench``), with a
signed license of four products (editor, analytics, reports: named; portal: portal), then
requests, through Django's test client and its full middleware (enforcement included), as a
license manager who is not a superuser (a group with CanManageLicUsers, admin access and
change_user, holding an editor seat):

- System users: the first page, searched (a first name that 5% of users have), each filter
  (product, holds no license, without a seat, portal type, group, inactive) and each sortable
  column in both directions;
- a product's holders and its Add users list (first page and searched);
- the License manager, the dashboard (with the licensing panel);
- the Grant and Recall licenses bulk-action forms for 50 selected users, and (informative:
  the form counts what the selection holds) for "all users in listing";
- Wagtail's own Users listing on the same data: first page, searched, ordered by name,
  filtered to active users (a count of the active users, which Add users makes too); it
  shows 20 users a page and System users 50, so it is also measured at 50 a page, which the
  target compares with.

Employees hold one or two of the three named products (about 1.5 assignments a user) and
belong to one of five groups; one user in 20 is a portal user holding the portal product, one
in 20 holds nothing, one in 20 is inactive (their assignments without a seat), one in 10 never
logged in: every filter selects at least a page of users at 1,000 users. Rows are written with
``bulk_create`` and the seat counters and user census recounted (``actions.counters.recount``,
``census.store``, skipped on code from before them); PostgreSQL is then vacuumed and
analysed, as autovacuum would.

Sizes: ``--small`` users (the baseline), ``--users``, and with ``--assignments N`` as many
users as make N assignments. The workers build their databases at the same time, then take
turns: only one process of the benchmark runs at any moment. Each of ``--repeats`` rounds
requests every page from every size in turn (alternating which size goes first), so that a
busy moment of the machine falls on every size and page alike, after a warm-up, on one
persistent database connection per worker. Printed per page: the median CPU time of a request
(the worker plus the PostgreSQL backend serving it, read from ``/proc``: a busy machine
inflates it far less than wall-clock time, also printed), the query count of one request and
the rows of its listing.

Targets (issue 10): every page at ``--users`` at most 1.3x its own time at ``--small``, with
the same query count; System users at most 1.5x Wagtail's Users listing (50 a page), first
page and searched. ``--explain N`` prints the plans of each page's N slowest queries at the
largest size. ``--search-indexes`` (PostgreSQL) first runs ``manage.py licensing
search-indexes`` on every size, as a site with many users would (docs/deployment.md).
"""

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import _support

NAMED = ["editor", "analytics", "reports"]
PRODUCTS = [("editor", "named", 10_000_000), ("analytics", "named", None),
            ("reports", "named", None), ("portal", "portal", None)]
FIRST_NAMES = ["Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace",
               "Hedy", "Ivan", "John", "Katherine", "Linus", "Margaret", "Niklaus", "Radia",
               "Shafi", "Tim", "Whitfield", "Yukihiro"]
LAST_NAMES = [f"{stem}{suffix}" for stem in ("Hopper", "Lovelace", "Turing", "Knuth", "Liskov",
                                             "Ritchie", "Hamilton", "Allen", "Kay", "Wirth")
              for suffix in ("", "-Smith", "-Jones", "-Brown", "-Evans", "-Clark", "-Lewis",
                             "-Young", "-Walker", "-Hall", "-Wright", "-King", "-Scott",
                             "-Green", "-Baker", "-Adams", "-Nelson", "-Hill", "-Moore",
                             "-Reid")]
SEARCH = "grace"  # FIRST_NAMES[7]: 5% of users, never in a last name or a username
PAGE = 50
TARGET_GROWTH = 1.3
TARGET_WAGTAIL = 1.5
ASSIGNMENTS_PER_USER = 1.45  # see holds(): 29 assignments for 20 users


def holds(i):
    """The product codes of user ``i``: one named product, every other user a second; the
    portal product for portal users; none for one user in 20."""
    if i % 20 == 7:
        return ["portal"]
    if i % 20 == 11:
        return []
    codes = [NAMED[i % 3]]
    if i % 2 == 0:
        codes.append(NAMED[(i + 1) % 3])
    return codes


def add_users(start, stop, groups):
    """Users ``u{start..stop}`` with their assignments, groups and portal accounts."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from wagtail_licensing.models import LicenseAssignment, PortalUser

    User = get_user_model()
    through = User.groups.through
    now = timezone.now()
    batch = 5000
    for low in range(start, stop, batch):
        high = min(low + batch, stop)
        users = User.objects.bulk_create(
            User(username=f"u{i:07d}", email=f"u{i:07d}@example.com",
                 first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                 last_name=LAST_NAMES[(i * 7919) % len(LAST_NAMES)],
                 is_active=i % 20 != 19,
                 last_login=None if i % 10 == 3 else now - timedelta(minutes=(i * 37) % 100_000))
            for i in range(low, high))
        if users[0].pk is None:  # backends that do not return keys
            users = list(User.objects.filter(username__gte=f"u{low:07d}",
                                             username__lt=f"u{high:07d}").order_by("username"))
        assignments, portal, members = [], [], []
        for i, user in zip(range(low, high), users, strict=True):
            if i % 20 == 7:
                portal.append(PortalUser(user=user))
            else:
                members.append(through(user_id=user.pk, group_id=groups[i % len(groups)].pk))
            assignments += [LicenseAssignment(user=user, product_code=code, granted_at=now,
                                              has_seat=user.is_active, source="import")
                            for code in holds(i)]
        LicenseAssignment.objects.bulk_create(assignments, batch_size=batch)
        PortalUser.objects.bulk_create(portal)
        through.objects.bulk_create(members, batch_size=batch)
    _support.recount_counters([code for code, _kind, _seats in PRODUCTS])
    _support.refresh_statistics([User, through, LicenseAssignment, PortalUser])


def build_manager():
    """A license manager who is not a superuser, and who may also see Settings > Users."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from wagtail_licensing import operations

    User = get_user_model()
    group = Group.objects.create(name="License managers")
    group.permissions.set(Permission.objects.filter(
        codename__in=["access_admin", "can_manage_lic_users", "change_user"]))
    manager = User.objects.create_user("bench-manager", "manager@example.com", "pw",
                                       first_name="Bench", last_name="Manager")
    manager.groups.add(group)
    operations.grant(User.objects.filter(pk=manager.pk), ["editor"])
    return manager


class Page(NamedTuple):
    name: str
    url: str
    params: Any
    informative: bool = False  # not a target (printed with a *)
    page_size: int | None = None  # Wagtail's Users listing at another page size


def pages(user_ids, group_id):
    """Every page measured."""
    from django.urls import reverse

    users = reverse("wagtail_licensing_users:index")
    listing = [
        ("System users: first page", {}),
        ("System users: searched", {"q": SEARCH}),
        ("System users: product filter", {"product": "analytics"}),
        ("System users: holds no license", {"licensed": "unlicensed"}),
        ("System users: without a seat", {"licensed": "without_seat"}),
        ("System users: portal users", {"type": "portal"}),
        ("System users: group filter", {"group": str(group_id)}),
        ("System users: inactive", {"is_active": "false"}),
    ]
    for key in ("name", "username", "is_active", "_licensing_is_portal", "last_login"):
        for sign in ("", "-"):
            listing.append((f"System users: ordered by {sign}{key}", {"ordering": sign + key}))
    result = [Page(name, users, params) for name, params in listing]
    selection = [("id", str(pk)) for pk in user_ids]
    bulk = [(name, reverse("wagtail_licensing_users:bulk_action", args=[action]))
            for name, action in (("grant", "grant_licenses"), ("recall", "recall_licenses"))]
    for name, url in bulk:
        result.append(Page(f"Bulk {name} form: 50 selected", url,
                           [*selection, ("next", users)]))
    for name, url in bulk:
        result.append(Page(f"Bulk {name} form: all in listing", url,
                           [("id", "all"), ("next", users)], informative=True))
    holders = reverse("wagtail_licensing:product", args=["editor"])
    grant = reverse("wagtail_licensing:product_grant", args=["reports"])
    wagtail_users = reverse("wagtailusers_users:index")
    result += [
        Page("Product holders (editor)", holders, {}),
        Page("Product holders: searched", holders, {"q": SEARCH}),
        Page("Add users (reports)", grant, {}),
        Page("Add users: searched", grant, {"q": SEARCH}),
        Page("License manager", reverse("wagtail_licensing:license_manager"), {}),
        Page("Dashboard", reverse("wagtailadmin_home"), {}),
        Page("Wagtail Users: first page", wagtail_users, {}),
        Page("Wagtail Users: searched", wagtail_users, {"q": SEARCH}),
        Page("Wagtail Users: ordered by name", wagtail_users, {"ordering": "name"}),
        # What Add users' count costs, on Wagtail's own listing: a count of the active users.
        Page("Wagtail Users: active filter", wagtail_users, {"is_active": "true"}),
        Page("Wagtail Users, 50 a page: first", wagtail_users, {}, page_size=PAGE),
        Page("Wagtail Users, 50 a page: searched", wagtail_users, {"q": SEARCH},
             page_size=PAGE),
    ]
    return result


# System users pages compared with Wagtail's Users listing (same data, same run): Wagtail's
# shows 20 users a page, System users 50, so both are compared with it at 50 a page too.
COMPARED = [("System users: first page", "Wagtail Users: first page"),
            ("System users: first page", "Wagtail Users, 50 a page: first"),
            ("System users: searched", "Wagtail Users: searched"),
            ("System users: searched", "Wagtail Users, 50 a page: searched"),
            ("System users: ordered by name", "Wagtail Users: ordered by name")]


def request(client, page):
    """One GET of ``page``; Wagtail's Users listing at ``page.page_size`` users a page when
    set (its viewset fixes 20: the view's keyword arguments are changed for the request)."""
    from django.urls import resolve

    initkwargs = resolve(page.url).func.view_initkwargs if page.page_size else {}
    default = initkwargs.get("paginate_by")
    if page.page_size:
        initkwargs["paginate_by"] = page.page_size
    try:
        response = client.get(page.url, page.params)
    finally:
        if page.page_size:
            initkwargs["paginate_by"] = default
    assert response.status_code == 200, (page, response.status_code)
    return response


def table_rows(content):
    """Rows of the page's listing table (a check that a page is full)."""
    start = content.find(b"<tbody", max(content.find(b'<table class="listing'), 0))
    if start < 0:
        return 0
    return content[start:content.find(b"</tbody>", start)].count(b"<tr")


class CpuClock:
    """CPU time of this process, plus that of the PostgreSQL backend serving its connection
    when the server runs on this machine (``/proc/<pid>/schedstat``, in nanoseconds): unlike
    wall-clock time, it does not count what other processes on a busy machine do meanwhile."""

    def __init__(self):
        from django.db import connection

        self.backend = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                path = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
            if path.exists():
                self.backend = path

    def __call__(self):
        seconds = time.process_time()
        if self.backend is not None:
            seconds += int(self.backend.read_text().split()[0]) / 1e9
        return seconds


class Site:
    """One database of ``size`` users, its signed-in client and its pages: what a worker
    process serves."""

    def __init__(self, size, directory):
        database_url = os.environ.get("DATABASE_URL")
        if database_url:  # one PostgreSQL database per size: .../bench_pages_100000
            os.environ["DATABASE_URL"] = f"{database_url}_{size}"
        _support.setup_django(Path(directory) / f"bench-{size}.sqlite3", fresh=True,
                              persistent=True)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.test import Client

        from wagtail_licensing.models import LicenseAssignment

        start = time.perf_counter()
        _support.install_license(PRODUCTS, license_id="BENCH-PAGES")
        manager = build_manager()
        groups = [Group.objects.create(name=f"Bench group {i}") for i in range(5)]
        add_users(0, size, groups)
        self.built = time.perf_counter() - start
        self.assignments = LicenseAssignment.objects.count()
        self.client = Client()
        self.client.force_login(manager)
        first = list(get_user_model().objects.filter(username__startswith="u")
                     .order_by("username").values_list("pk", flat=True)[:PAGE])
        self.pages = {page.name: page for page in pages(first, groups[0].pk)}
        self.clock = None

    def describe(self):
        import django
        import wagtail
        from django.db import connection

        import wagtail_licensing

        return {"vendor": connection.vendor, "django": django.get_version(),
                "wagtail": wagtail.__version__, "assignments": self.assignments,
                "built": self.built,
                "code": str(Path(wagtail_licensing.__file__).parent.parent)}

    def page_list(self, _argument):
        return [page._replace(params=None) for page in self.pages.values()]

    def warm(self, name):
        """Request the page twice; the queries of the second request, and its rows."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        page = self.pages[name]
        response = request(self.client, page)
        with CaptureQueriesContext(connection) as captured:
            request(self.client, page)
        return {"queries": len(captured), "rows": table_rows(response.content),
                "sql": [(float(q["time"]), q["sql"]) for q in captured]}

    def time(self, name):
        """(CPU seconds, wall-clock seconds) of one request of the page, without a garbage
        collection in the middle (as ``timeit`` does: one collection, at a moment that
        depends on what ran before, would land on one page at random)."""
        if self.clock is None:  # the connection stays open (CONN_MAX_AGE=None): one backend
            self.clock = CpuClock()
        gc.collect()
        gc.disable()
        try:
            cpu, wall = self.clock(), time.perf_counter()
            request(self.client, self.pages[name])
            return self.clock() - cpu, time.perf_counter() - wall
        finally:
            gc.enable()

    def explain(self, sql):
        return explain(sql)

    def add_search_indexes(self, _argument):
        """``manage.py licensing search-indexes`` (PostgreSQL), then the statistics again."""
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        if connection.vendor != "postgresql":
            return False
        call_command("licensing", "search-indexes", stdout=open(os.devnull, "w"))  # noqa: SIM115
        _support.refresh_statistics([get_user_model()])
        return True


def serve(connection, size, directory):
    """A worker process: builds its site, then runs what the coordinator asks, one call at a
    time, so that only one process of the benchmark runs at any moment."""
    site = Site(size, directory)
    connection.send(site.describe())
    while True:
        message = connection.recv()
        if message is None:
            return
        method, argument = message
        connection.send(getattr(site, method)(argument))


class Worker:
    def __init__(self, size, directory):
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a fresh interpreter: its own Django
        self.size = size
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, size, directory))
        self.process.start()

    def ready(self):
        self.info = self.connection.recv()
        return self.info

    def call(self, method, argument):
        self.connection.send((method, argument))
        return self.connection.recv()

    def stop(self):
        self.connection.send(None)
        self.process.join()


def measure(workers, names, repeats):
    """[{name: {"ms" (CPU), "wall_ms", "queries", "rows", "sql"}} per worker]: medians of
    ``repeats`` rounds. Each round requests every page from every size in turn (in alternate
    order), so that a busy moment of the machine falls on every size and page alike."""
    results = [{name: worker.call("warm", name) for name in names} for worker in workers]
    samples = [{name: ([], []) for name in names} for _worker in workers]
    for round_number in range(repeats):
        order = list(enumerate(workers))
        if round_number % 2:
            order.reverse()
        for name in names:
            for index, worker in order:
                cpu, wall = worker.call("time", name)
                samples[index][name][0].append(cpu)
                samples[index][name][1].append(wall)
    for result, sample in zip(results, samples, strict=True):
        for name, (cpu, wall) in sample.items():
            result[name]["ms"] = statistics.median(cpu) * 1000
            result[name]["wall_ms"] = statistics.median(wall) * 1000
    return results


def explain(sql):
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(f"{row[1]:>3} {row[3]}" for row in cursor.fetchall())


def print_plans(worker, results, slowest):
    print()
    print(f"The {slowest} slowest queries of each page, with their plans:")
    for name, result in results.items():
        print()
        print(f"== {name}: {result['queries']} queries, "
              f"{sum(t for t, _sql in result['sql']) * 1000:.1f} ms in the database")
        for seconds, sql in sorted(result["sql"], key=lambda q: -q[0])[:slowest]:
            print(f"-- {seconds * 1000:.1f} ms: {sql[:2000]}")
            if sql.lstrip().upper().startswith("SELECT"):
                print(worker.call("explain", sql))


def report(sizes, measured, page_list):
    """Print the table; returns the failed targets."""
    small = measured[0]
    failures = []
    header = f"{'page':<40}" + "".join(f"{f'{n:,} users':>15}" for n in sizes)
    header += "".join(f"{f'x{n / sizes[0]:,.0f}':>7}" for n in sizes[1:])
    print(header + "   queries      rows   wall-clock ms")
    for page in page_list:
        name = page.name
        line = f"{name + (' (*)' if page.informative else ''):<40}"
        line += "".join(f"{m[name]['ms']:>12.1f} ms" for m in measured)
        for size, big in zip(sizes[1:], measured[1:], strict=True):
            ratio = big[name]["ms"] / small[name]["ms"]
            line += f"{ratio:>7.2f}"
            if not page.informative and ratio > TARGET_GROWTH:
                failures.append(f"{name}: {ratio:.2f}x its time at {sizes[0]:,} users, at "
                                f"{size:,}")
        counts = [m[name]["queries"] for m in measured]
        line += f"   {' / '.join(str(c) for c in counts):<9}"
        line += f"  {' / '.join(str(m[name]['rows']) for m in measured):<9}"
        line += "  " + " / ".join(f"{m[name]['wall_ms']:.0f}" for m in measured)
        if len(set(counts)) > 1 and not page.informative:
            failures.append(f"{name}: {counts} queries")
        print(line)
    print("(*) informative, not a target: the form counts what every selected user holds.")
    print()
    print("System users against Wagtail's Users listing (same data, same run, CPU time):")
    for ours, theirs in COMPARED:
        if ours not in small or theirs not in small:
            continue
        ratios = [m[ours]["ms"] / m[theirs]["ms"] for m in measured]
        print(f"  {ours[len('System users: '):]:<16} / {theirs:<36}"
              + "".join(f"{f'{n:,} users':>15}{r:>6.2f}x"
                        for n, r in zip(sizes, ratios, strict=True)))
        if "50 a page" in theirs:
            failures += [f"{ours}: {r:.2f}x {theirs} at {n:,} users"
                         for n, r in zip(sizes, ratios, strict=True) if r > TARGET_WAGTAIL]
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000,
                        help="users at the large size (default 100000)")
    parser.add_argument("--small", type=int, default=1_000,
                        help="users at the baseline size (default 1000)")
    parser.add_argument("--assignments", type=int, default=0,
                        help="then add users until there are this many assignments, and "
                             "measure again (e.g. 1000000; meant for PostgreSQL)")
    parser.add_argument("--repeats", type=int, default=11,
                        help="rounds of every page at each size (default 11)")
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="print the plans of each page's N slowest queries at the "
                             "largest size")
    parser.add_argument("--only", default="",
                        help="measure only the pages whose name contains this text (several "
                             "texts separated by |: any of them)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--search-indexes", action="store_true",
                        help="PostgreSQL: run `manage.py licensing search-indexes` on every "
                             "size first (trigram indexes for searches of users)")
    args = parser.parse_args()

    sizes = [args.small, args.users]
    if args.assignments:
        sizes.append(int(args.assignments / ASSIGNMENTS_PER_USER))
    with tempfile.TemporaryDirectory(prefix="wagtail-licensing-bench-") as tmp:
        workers = [Worker(size, tmp) for size in sizes]  # they build their sites at once
        infos = [worker.ready() for worker in workers]
        indexed = args.search_indexes and all(
            [worker.call("add_search_indexes", None) for worker in workers])
        # The pages (the same names in every worker; ids and URLs are each worker's own).
        wanted = args.only.split("|")
        page_list = [page for page in workers[0].call("page_list", None)
                     if any(text in page.name for text in wanted)]
        names = [page.name for page in page_list]
        info = infos[0]
        print(f"wagtail-licensing pages benchmark: {info['vendor']}, Django {info['django']}, "
              f"Wagtail {info['wagtail']}, code in {info['code']}; median of {args.repeats} "
              "rounds, CPU time per request (the process and its database server)"
              + ("; with the search indexes" if indexed else ""))
        for size, worker_info in zip(sizes, infos, strict=True):
            print(f"  {size:,} users, {worker_info['assignments']:,} assignments "
                  f"(built in {worker_info['built']:.0f} s)")
        start = time.perf_counter()
        measured = measure(workers, names, args.repeats)
        print(f"  measured in {time.perf_counter() - start:.0f} s; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores afterwards")
        print()
        failures = report(sizes, measured, page_list)
        if args.explain:
            print_plans(workers[-1], measured[-1], args.explain)
        for worker in workers:
            worker.stop()
        if args.json:
            args.json.write_text(json.dumps(
                {"vendor": info["vendor"], "code": info["code"], "sizes": sizes,
                 "repeats": args.repeats, "loadavg": os.getloadavg(),
                 "pages": {name: [{k: v for k, v in m[name].items() if k != "sql"}
                                  for m in measured] for name in names}},
                indent=1))
    print()
    if failures:
        print("Targets NOT met:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("Targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
