#!/usr/bin/env python
"""Benchmark: bind a product to a 10,000-member group and reprocess it, against the same
direct bulk grant.

    .venv/bin/python benchmarks/group_licensing.py [--members 10000]

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``) with a
signed license and a group of ``--members`` users (and a 10-member group), then times:

- ``operations.grant`` of the product to the same users directly (the bulk action's work);
- ``operations.bind_group_licenses`` of the product to the group (seats every member, records
  one source per member);
- ``operations.reprocess_group_licenses`` of the group once bound (nothing to change: the
  check every install and recall may run), and after its inherited assignments were deleted
  behind its back (everything to redo);
- one user joining the bound group (``user.groups.add``), at 10 and at ``--members`` members.

Targets (issue 13): the same queries for 10 members as for ``--members``; bind and reprocess
within 2x of the direct bulk grant; one user joining costs the same queries whatever the size.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import _support
from _support import timed

PRODUCTS = [("editor", "named", None), ("reports", "named", None)]


def add_members(prefix, count, group):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    for low in range(0, count, 5000):
        high = min(low + 5000, count)
        User.objects.bulk_create(
            User(username=f"{prefix}{i:07d}", email=f"{prefix}{i:07d}@example.com")
            for i in range(low, high)
        )
    ids = list(User.objects.filter(username__startswith=prefix).values_list("pk", flat=True))
    through = User.groups.through
    through.objects.bulk_create(
        (through(user_id=pk, group_id=group.pk) for pk in ids), batch_size=5000
    )
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3", fresh=True)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db import connection

        from wagtail_licensing import operations
        from wagtail_licensing.models import (
            AssignmentSource,
            GroupLicense,
            GroupLicenseSource,
            LicenseAssignment,
        )

        _support.install_license(PRODUCTS, license_id="BENCH-GROUPS")
        User = get_user_model()
        admin = User.objects.create_superuser("bench-admin", "admin@example.com", "pw")
        big = Group.objects.create(name="Bench members")
        small = Group.objects.create(name="Bench few")
        ids = add_members("m", args.members, big)
        add_members("f", 10, small)
        members = User.objects.filter(
            pk__in=User.groups.through.objects.filter(group_id=big.pk).values("user_id")
        )

        def clear():
            LicenseAssignment.objects.filter(product_code="reports").delete()
            GroupLicenseSource.objects.all().delete()
            GroupLicense.objects.all().delete()
            _support.recount_counters(["reports"])

        direct = timed(
            lambda: operations.grant(
                members, ["reports"], user=admin, source=AssignmentSource.BULK
            ),
            setup=clear,
        )
        bind_small = timed(
            lambda: operations.bind_group_licenses(small, "reports", user=admin), setup=clear
        )
        bind = timed(lambda: operations.bind_group_licenses(big, "reports", user=admin),
                     setup=clear)
        assert LicenseAssignment.objects.filter(product_code="reports").count() == args.members
        noop = timed(lambda: operations.reprocess_group_licenses(group=big, user=admin))

        def drop():
            LicenseAssignment.objects.filter(product_code="reports").delete()
            _support.recount_counters(["reports"])

        redo = timed(lambda: operations.reprocess_group_licenses(group=big, user=admin), setup=drop)
        assert LicenseAssignment.objects.filter(product_code="reports").count() == args.members

        operations.bind_group_licenses(small, "reports", user=admin)
        joiner = User.objects.create_user("joiner", "j@example.com", "pw")

        def leave(group):
            return lambda: joiner.groups.remove(group)

        join_small = timed(lambda: joiner.groups.add(small), setup=leave(small))
        leave(small)()
        join_big = timed(lambda: joiner.groups.add(big), setup=leave(big))
        vendor = connection.vendor
        del ids

    print(f"Database: {vendor}; {args.members:,} members.")
    rows = [
        ("direct bulk grant", direct),
        ("bind to a 10-member group", bind_small),
        (f"bind to the {args.members:,}-member group", bind),
        ("reprocess it (nothing to change)", noop),
        ("reprocess it (every assignment to redo)", redo),
        ("one user joins a 10-member group", join_small),
        (f"one user joins the {args.members:,}-member group", join_big),
    ]
    for label, (seconds, queries) in rows:
        print(f"  {label:<48} {seconds * 1000:9.1f} ms {queries:4d} queries")
    bind_ratio, redo_ratio = bind[0] / direct[0], redo[0] / direct[0]
    print(
        f"  bind / direct grant: {bind_ratio:5.2f}x; reprocess (redo) / direct grant: "
        f"{redo_ratio:5.2f}x   (target <= 2x)"
    )
    ok = (
        bind_small[1] == bind[1]
        and join_small[1] == join_big[1]
        and bind_ratio <= 2
        and redo_ratio <= 2
    )
    print()
    print("Targets met." if ok else "Targets NOT met.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
