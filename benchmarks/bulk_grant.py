#!/usr/bin/env python
"""Benchmark: Grant licenses as the bulk action runs it, for 10 users and for many.

    .venv/bin/python benchmarks/bulk_grant.py [--bulk 10000]

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``) with a
signed license and ``--bulk`` users, then times ``operations.grant`` on a queryset (what the
bulk action and "select all users in listing" run) for 10 users and for ``--bulk`` users:
equal query counts, and the time against a raw ``bulk_create`` of the same assignments (the
floor: no checks, no seat count, no audit). The listings themselves (System users and the
other licensing pages, at 1,000 and 100,000 users) are measured by ``pages.py``.

Targets (issue 4): equal query counts; the bulk grant at most 3x the raw insert.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _support
from _support import timed

PRODUCTS = [("editor", "named", None), ("analytics", "named", None),
            ("reports", "named", None), ("portal", "portal", None)]


def add_users(prefix, start, stop, groups):
    """Users ``prefix{start..stop}``: all hold editor, every other one analytics too, each in
    one group. Rows are written directly: the data is the subject, not the grant."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from wagtail_licensing.models import LicenseAssignment

    User = get_user_model()
    batch = 5000
    now = timezone.now()
    for low in range(start, stop, batch):
        high = min(low + batch, stop)
        users = User.objects.bulk_create(
            User(username=f"{prefix}{i:07d}", email=f"{prefix}{i:07d}@example.com",
                 first_name="Bench", last_name=f"{i:07d}", last_login=now)
            for i in range(low, high))
        if users[0].pk is None:  # backends that do not return keys
            users = list(User.objects.filter(username__gte=f"{prefix}{low:07d}",
                                             username__lt=f"{prefix}{high:07d}"))
        LicenseAssignment.objects.bulk_create(
            [LicenseAssignment(user=user, product_code="editor", granted_at=now)
             for user in users]
            + [LicenseAssignment(user=user, product_code="analytics", granted_at=now)
               for index, user in enumerate(users) if index % 2 == 0])
        through = User.groups.through
        through.objects.bulk_create(
            through(user_id=user.pk, group_id=groups[index % len(groups)].pk)
            for index, user in enumerate(users))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bulk", type=int, default=10_000,
                        help="users in the large bulk grant (default 10000)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3", fresh=True)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db import connection
        from django.utils import timezone

        from wagtail_licensing import operations
        from wagtail_licensing.models import AssignmentSource, LicenseAssignment

        _support.install_license(PRODUCTS, license_id="BENCH-USERS")
        User = get_user_model()
        admin = User.objects.create_superuser("bench-admin", "admin@example.com", "pw")
        operations.grant([admin], ["analytics"])
        groups = [Group.objects.create(name=f"Bench group {i}") for i in range(5)]
        add_users("g", 0, args.bulk, groups)
        _support.recount_counters(["editor", "analytics"])  # rows written directly

        def reset():
            LicenseAssignment.objects.filter(product_code="reports").delete()

        def grant(users):
            return lambda: operations.grant(users, ["reports"], user=admin,
                                            source=AssignmentSource.BULK)

        few = list(User.objects.filter(username__startswith="g").order_by("pk")[:10]
                   .values_list("pk", flat=True))
        grant_small = timed(grant(User.objects.filter(pk__in=few)), 3, reset)
        grant_large = timed(grant(User.objects.filter(username__startswith="g")), 3, reset)
        assert LicenseAssignment.objects.filter(product_code="reports").count() == args.bulk

        ids = list(User.objects.filter(username__startswith="g").values_list("pk", flat=True))
        LicenseAssignment.objects.filter(product_code="reports").delete()
        now = timezone.now()
        start = time.perf_counter()
        LicenseAssignment.objects.bulk_create(
            [LicenseAssignment(user_id=pk, product_code="reports", granted_at=now,
                               source="bulk") for pk in ids], batch_size=2000)
        raw = time.perf_counter() - start
        vendor = connection.vendor

    print(f"Database: {vendor}.")
    (g_small, gq_small), (g_large, gq_large) = grant_small, grant_large
    print()
    print("Grant licenses (operations.grant on a queryset):")
    print(f"  10 users {g_small * 1000:8.1f} ms {gq_small:3d} queries   {args.bulk:,} users "
          f"{g_large * 1000:8.1f} ms {gq_large:3d} queries")
    print(f"  raw bulk_create of {args.bulk:,} assignments {raw * 1000:8.1f} ms; "
          f"grant / raw: {g_large / raw:5.2f}x   (target <= 3x)")
    ok = gq_small == gq_large and g_large / raw <= 3
    print()
    print("Targets met." if ok else "Targets NOT met.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
