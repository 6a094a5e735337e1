#!/usr/bin/env python
"""Benchmark: importing license assignments, against two baselines measured in the same run.

    .venv/bin/python benchmarks/import_export.py [--rows 100000] [--stock-rows 10000]

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``) with a
signed license of four unlimited named products and ``rows / 4`` users, writes a CSV of
``rows`` rows (one per user and product), then times, one after the other on the same data:

1. wagtail-licensing's import: ``read_assignments`` (parse the CSV with django-import-export's
   CSV format) + ``import_assignments`` (plan in batches, apply in one transaction, log);
2. the same rows through a stock django-import-export ``ModelResource`` (a ``ForeignKeyWidget``
   for the username, ``import_id_fields`` user and product), imported row by row as its
   documentation shows, with the default settings;
3. a raw ``bulk_create`` of the same rows, user IDs already known (the floor: no parsing, no
   checks, no look-ups, no audit).

The stock import costs the same per row however many rows there are (several queries each),
so it runs on ``--stock-rows`` rows and its time is scaled to ``--rows``: the output says when
it does, and prints our import's time on that smaller file too, so both ratios are measured.
Targets (issue 6): at least 20x faster than the stock import, at most 3x the raw insert.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import _support

PRODUCTS = ["alpha", "beta", "gamma", "delta"]


def build(rows):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = -(-rows // len(PRODUCTS))
    User.objects.bulk_create(
        (User(username=f"bench{i:07d}", email=f"bench{i:07d}@example.com", first_name="Bench",
              last_name=str(i)) for i in range(users)), batch_size=2000)
    pairs = [(f"bench{i:07d}", code) for i in range(users) for code in PRODUCTS][:rows]
    return pairs


def csv_of(pairs):
    lines = ["username,product code,action"]
    lines.extend(f"{user},{code},grant" for user, code in pairs)
    return ("\n".join(lines) + "\n").encode()


def reset():
    from wagtail_licensing.models import LicenseAssignment

    LicenseAssignment.objects.all().delete()


def count():
    from wagtail_licensing.models import LicenseAssignment

    return LicenseAssignment.objects.count()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_ours(content):
    from wagtail_licensing import operations
    from wagtail_licensing.formats import read_assignments

    start = time.perf_counter()
    assignments = read_assignments(content, filename="bench.csv")
    result = operations.import_assignments(assignments)
    elapsed = time.perf_counter() - start
    return elapsed, result


def time_exports(rows):
    """Seconds to export every assignment in each format (rows are checked in CSV)."""
    from wagtail_licensing.formats import EXPORT_FORMATS
    from wagtail_licensing.resources import export_assignments

    times = {}
    for name in EXPORT_FORMATS:
        start = time.perf_counter()
        content, _type, _ext = export_assignments(name)
        times[name] = time.perf_counter() - start
        if name == "csv":
            assert content.count(b"\n") == rows + 1
    return times


def time_stock(content):
    from django.contrib.auth import get_user_model
    from import_export import fields, resources, widgets
    from import_export.formats.base_formats import CSV

    from wagtail_licensing.models import LicenseAssignment

    class AssignmentResource(resources.ModelResource):
        user = fields.Field(attribute="user", column_name="username",
                            widget=widgets.ForeignKeyWidget(get_user_model(), "username"))
        product_code = fields.Field(attribute="product_code", column_name="product code")

        class Meta:
            model = LicenseAssignment
            fields = ("user", "product_code")
            import_id_fields = ("user", "product_code")

    start = time.perf_counter()
    dataset = CSV(encoding="utf-8").create_dataset(content)
    result = AssignmentResource().import_data(dataset, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - start
    assert not result.has_errors()
    return elapsed


def time_bulk_create(pairs):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from wagtail_licensing.models import LicenseAssignment

    ids = dict(get_user_model().objects.values_list("username", "pk"))
    now = timezone.now()
    start = time.perf_counter()
    LicenseAssignment.objects.bulk_create(
        [LicenseAssignment(user_id=ids[user], product_code=code, granted_at=now,
                           source="import") for user, code in pairs], batch_size=2000)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="rows imported by our import and by bulk_create (default 100000)")
    parser.add_argument("--stock-rows", type=int, default=10_000,
                        help="rows imported by the stock ModelResource, scaled to --rows "
                             "(default 10000; use --stock-rows equal to --rows to time it all)")
    args = parser.parse_args()
    stock_rows = min(args.stock_rows, args.rows)

    with tempfile.TemporaryDirectory() as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3")
        from django.db import connection

        _support.install_license([(code, "named", None) for code in PRODUCTS])
        pairs = build(args.rows)
        content = csv_of(pairs)
        small = csv_of(pairs[:stock_rows])
        print(f"Database: {connection.vendor}; {args.rows:,} rows "
              f"({len(content) / 1e6:.1f} MB of CSV), {len(pairs) // len(PRODUCTS):,} users, "
              f"{len(PRODUCTS)} products.")

        rss_before = peak_rss_mb()
        ours, result = time_ours(content)
        rss_growth = peak_rss_mb() - rss_before
        assert count() == args.rows == result.granted_count, (count(), result.granted_count)
        # Importing the same file again changes nothing: every row is "unchanged".
        again, again_result = time_ours(content)
        assert again_result.unchanged_count == args.rows and count() == args.rows
        exports = time_exports(args.rows)
        reset()

        ours_small, _result = time_ours(small)
        assert count() == stock_rows
        reset()

        stock_small = time_stock(small)
        assert count() == stock_rows
        reset()
        stock = stock_small * args.rows / stock_rows

        raw = time_bulk_create(pairs)
        assert count() == args.rows
        reset()

    scaled = stock_rows != args.rows
    print()
    print(f"  wagtail-licensing import   {args.rows:>8,} rows  {ours:8.2f} s  "
          f"({args.rows / ours:,.0f} rows/s; peak memory +{rss_growth:.0f} MB)")
    print(f"    same file again (all unchanged)   {again:8.2f} s")
    if scaled:
        print(f"  wagtail-licensing import   {stock_rows:>8,} rows  {ours_small:8.2f} s")
        print(f"  stock ModelResource        {stock_rows:>8,} rows  {stock_small:8.2f} s  "
              f"(measured)")
        print(f"  stock ModelResource        {args.rows:>8,} rows  {stock:8.2f} s  "
              f"(scaled from {stock_rows:,} rows: it costs the same per row)")
    else:
        print(f"  stock ModelResource        {args.rows:>8,} rows  {stock:8.2f} s")
    print(f"  raw bulk_create            {args.rows:>8,} rows  {raw:8.2f} s")
    print(f"  export {args.rows:,} assignments: "
          + ", ".join(f"{name.upper()} {seconds:.2f} s" for name, seconds in exports.items()))
    print()
    speedup = stock / ours
    print(f"  stock import / ours:  {speedup:6.1f}x   (target >= 20x)"
          + (" [stock time scaled]" if scaled else ""))
    if scaled:
        print(f"    at {stock_rows:,} rows, both measured: {stock_small / ours_small:6.1f}x")
    print(f"  ours / bulk_create:   {ours / raw:6.2f}x   (target <= 3x)")
    ok = speedup >= 20 and ours / raw <= 3
    print()
    print("Targets met." if ok else "Targets NOT met.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
