#!/usr/bin/env python
"""Benchmark: streamed exports of license assignments, against reading the same rows.

    .venv/bin/python benchmarks/exports.py [--rows 100000] [--rows 1000000] [--no-memory]
    DATABASE_URL=postgres://licensing:licensing@127.0.0.1:5432/bench_exports \\
        .venv/bin/python benchmarks/exports.py --rows 100000 --rows 1000000

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``, which
is emptied first) with four unlimited named products and ``rows / 4`` users each holding all
four (each assignment granted at its own second, half by a manager, one in five held through a
group too or only: see ``build``), then for each ``--rows`` and each format (CSV, JSON, XLSX)
measures, in the same run:

- the baseline: reading the export's rows from the database with ``values_list`` and
  ``iterator()``, rendering nothing (the floor for any export);
- the export through ``stream_assignments``, every chunk consumed (what the command writes);
- the first byte of the web export (``/admin/licensing/assignments/export/?format=...``
  through Django's test client, as a license manager): the time until its first chunk;
- the peak of Python memory allocated while exporting (``tracemalloc``, in a separate pass,
  since tracing slows everything down), which must not grow with the number of rows.

Each time is the median of ``--repeats`` runs (default 3), in wall-clock time (what the
targets are about) and in CPU time: this process's, plus the PostgreSQL backend's when the
server runs on this machine. On a machine shared with other jobs wall-clock time counts their
work too; the CPU times, and their ratio, are far steadier.

Targets (issue 17), per 100,000 assignments: CSV <= 1 s, JSON <= 1 s, XLSX <= 5 s, each
within 3x of the baseline; the first byte of a web export in under 1 s at 1,000,000
assignments; memory that does not grow with the rows.
"""

import argparse
import functools
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import _support

PRODUCTS = ["alpha", "beta", "gamma", "delta"]
FORMATS = ["csv", "json", "xlsx"]
TARGET_SECONDS = {"csv": 1.0, "json": 1.0, "xlsx": 5.0}  # per 100,000 assignments


def build(rows):
    """``rows`` assignments: ``rows / 4`` users, each holding the four products.

    As a site's: every assignment has its own ``granted_at`` (distinct seconds over two
    years, the user's products granted apart), so that the export formats as many dates and
    times as it has rows; half were granted by a manager (the rest by an import, no one);
    one assignment in ten is held only through a group and one in ten both directly and
    through a group (``GroupLicenseSource`` rows, what the Source column reads)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from wagtail_licensing.actions import counters
    from wagtail_licensing.models import GroupLicense, GroupLicenseSource, LicenseAssignment

    User = get_user_model()
    GroupLicenseSource.objects.all().delete()
    GroupLicense.objects.all().delete()
    LicenseAssignment.objects.all().delete()
    User.objects.filter(username__startswith="bench").delete()
    users = -(-rows // len(PRODUCTS))
    manager, _created = User.objects.get_or_create(username="bench-granter")
    groups = [Group.objects.get_or_create(name=f"Bench group {code}")[0] for code in PRODUCTS]
    start_time = timezone.now() - timedelta(days=730)
    with transaction.atomic():
        GroupLicense.objects.bulk_create(GroupLicense(group=group, product_code=code)
                                         for group, code in zip(groups, PRODUCTS, strict=True))
        for start in range(0, users, 10_000):
            User.objects.bulk_create(
                (User(username=f"bench{i:07d}", email=f"bench{i:07d}@example.com",
                      first_name="Bench", last_name=str(i))
                 for i in range(start, min(start + 10_000, users))), batch_size=5000)
        ids = list(User.objects.filter(username__startswith="bench0").order_by("id")
                   .values_list("id", flat=True))
        assignments, sources, members = [], [], []
        number = 0
        for user_id in ids:
            for index, code in enumerate(PRODUCTS):
                # Distinct seconds, spread over two years, not in the order of the export.
                seconds = (number * 7919) % (rows * 631) or number
                via_group = number % 10  # 0: only through a group, 1: both, else directly
                assignments.append(LicenseAssignment(
                    user_id=user_id, product_code=code, has_seat=True, source="import",
                    granted_at=start_time + timedelta(seconds=seconds),
                    granted_by=manager if number % 2 else None, direct=via_group != 0))
                if via_group in (0, 1):
                    sources.append(GroupLicenseSource(user_id=user_id, product_code=code,
                                                      group=groups[index]))
                    members.append(User.groups.through(user_id=user_id,
                                                       group_id=groups[index].id))
                number += 1
            if len(assignments) >= 10_000:
                LicenseAssignment.objects.bulk_create(assignments, batch_size=5000)
                assignments.clear()
        LicenseAssignment.objects.bulk_create(assignments, batch_size=5000)
        GroupLicenseSource.objects.bulk_create(sources, batch_size=5000)
        User.groups.through.objects.bulk_create(members, batch_size=5000,
                                                ignore_conflicts=True)
        counters.recount(PRODUCTS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    distinct = LicenseAssignment.objects.values("granted_at").distinct().count()
    return LicenseAssignment.objects.count(), distinct


class CpuClock:
    """CPU time of this process, plus that of the PostgreSQL backend serving its connection
    when the server runs on this machine (``/proc/<pid>/schedstat``, in nanoseconds), as
    ``pages.py`` measures. The connection is opened first (a web request closes it, and the
    next connection is another backend): read it at the start and the end of a measurement
    that makes no request."""

    def __call__(self):
        from django.db import connection

        seconds = time.process_time()
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            path = Path(f"/proc/{connection.connection.info.backend_pid}/schedstat")
            if path.exists():
                seconds += int(path.read_text().split()[0]) / 1e9
        return seconds


def median_of(repeats, measure):
    """``measure()`` returns ``(wall, cpu, *rest)``: the medians of wall and CPU time over
    ``repeats`` runs, with the rest of the last run."""
    runs = [measure() for _ in range(repeats)]
    return (statistics.median(run[0] for run in runs),
            statistics.median(run[1] for run in runs), *runs[-1][2:])


def time_baseline(cpu):
    from wagtail_licensing.resources import LicenseAssignmentResource

    resource = LicenseAssignmentResource()
    fields = [field.attribute for field in resource.get_export_fields()]
    start_cpu = cpu()  # first: it may open the connection
    start = time.perf_counter()
    n = sum(1 for _row in resource.get_queryset().values_list(*fields).iterator(
        chunk_size=resource.get_chunk_size()))
    return time.perf_counter() - start, cpu() - start_cpu, n


def chunks_of(name):
    """The export's chunks; before exports streamed (an older checkout, to measure the
    baseline of the change), the whole file as one chunk."""
    try:
        from wagtail_licensing.resources import stream_assignments
    except ImportError:
        from wagtail_licensing.resources import export_assignments

        return iter([export_assignments(name)[0]])
    return stream_assignments(name).chunks


def time_export(name, cpu):
    start_cpu = cpu()  # first: it may open the connection
    start = time.perf_counter()
    size = 0
    first = None
    for chunk in chunks_of(name):
        if first is None and chunk:
            first = time.perf_counter() - start
        size += len(chunk)
    return time.perf_counter() - start, cpu() - start_cpu, first, size


def peak_memory(name):
    tracemalloc.start()
    tracemalloc.reset_peak()
    for _chunk in chunks_of(name):
        pass
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def web_first_byte(client, name):
    start = time.perf_counter()
    response = client.get("/admin/licensing/assignments/export/", {"format": name})
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    if not response.streaming:  # an older checkout: the whole file was built first
        return time.perf_counter() - start
    iterator = iter(response.streaming_content)
    next(iterator)
    first = time.perf_counter() - start
    response.close()  # stop reading: the rest is what the export measurement timed
    return first


def manager_client():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.test import Client

    User = get_user_model()
    manager, _created = User.objects.get_or_create(username="export-manager",
                                                   defaults={"is_superuser": False})
    group, _created = Group.objects.get_or_create(name="Bench managers")
    group.permissions.add(*Permission.objects.filter(
        codename__in=["access_admin", "can_manage_lic_users"]))
    manager.groups.add(group)
    client = Client()
    client.force_login(manager)
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append",
                        help="assignments to export (repeatable; default 100000)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each measurement, whose median is printed (default 3)")
    args = parser.parse_args()
    sizes = args.rows or [100_000]

    with tempfile.TemporaryDirectory() as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3", test_environment=True)
        from django.core.management import call_command
        from django.db import connection

        call_command("flush", interactive=False, verbosity=0)  # DATABASE_URL's, from a last run

        _support.install_license([(code, "named", None) for code in PRODUCTS])
        client = manager_client()
        cpu = CpuClock()
        results = []
        for rows in sizes:
            actual, distinct = build(rows)
            print(f"{actual:,} assignments, {distinct:,} distinct granted_at", file=sys.stderr)
            baseline, baseline_cpu, n = median_of(args.repeats, lambda: time_baseline(cpu))
            assert n == actual, (n, actual)
            for name in FORMATS:
                seconds, seconds_cpu, first, size = median_of(
                    args.repeats, functools.partial(time_export, name, cpu))
                web = web_first_byte(client, name)
                memory = None if args.no_memory else peak_memory(name)
                results.append((actual, name, baseline, seconds, first, web, size, memory,
                                baseline_cpu, seconds_cpu))

    print(f"Database: {connection.vendor}; {len(PRODUCTS)} products, each user holds all.")
    print()
    print(f"Medians of {args.repeats} runs; CPU: this process"
          + (" and the PostgreSQL backend." if connection.vendor == "postgresql" else "."))
    print()
    print("| assignments | format | read rows (baseline) | export | export / baseline | "
          "per 100k | target per 100k | first byte (web) | size | peak Python memory | "
          "CPU: read rows | CPU: export | CPU: export / read |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: |")
    ok = True
    for (rows, name, baseline, seconds, _first, web, size, memory, baseline_cpu,
         seconds_cpu) in results:
        per_100k = seconds * 100_000 / rows
        ratio = seconds / baseline
        target = TARGET_SECONDS[name]
        met = per_100k <= target and ratio <= 3
        if rows >= 1_000_000:
            met = met and web < 1
        ok = ok and met
        print(f"| {rows:,} | {name.upper()} | {baseline:.2f} s | {seconds:.2f} s | "
              f"{ratio:.2f}x | {per_100k:.2f} s | {target:.0f} s | {web * 1000:.0f} ms | "
              f"{size / 1e6:.1f} MB | "
              + ("-" if memory is None else f"{memory:.1f} MB")
              + f" | {baseline_cpu:.2f} s | {seconds_cpu:.2f} s | "
                f"{seconds_cpu / baseline_cpu:.2f}x |"
              + ("" if met else " NOT MET"))
    print()
    print("Targets met." if ok else "Targets NOT met.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
