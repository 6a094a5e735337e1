#!/usr/bin/env python
"""Benchmark: the REST API at 10,000 assignments: paging the list, and one grant to 10,000 users.

    .venv/bin/python benchmarks/api.py [--users 10000]

Builds a database (a temporary SQLite file, or the database named by ``DATABASE_URL``) with a
signed license, ``--users`` users who each hold one product (``--users`` assignments), and a
license manager's API token; every request goes through DRF's test client with that token, as
a provisioning script's would. It measures:

- ``GET assignments/`` at 100 and 1,000 a page, first, middle and last page: the queries of
  each page, and its time;
- ``POST assignments/grant/`` of a new product to 10 users and to ``--users`` users, by
  username, against ``operations.grant`` on a queryset (what the bulk action runs): the
  queries of each, and the time.

Targets (issue 15): the same queries for every page whatever its number; the same queries for
10 users and ``--users`` users; the API's grant costs the bulk action's queries plus the
request's own (the token, its user's permission, the users looked up by name).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import _support
from _support import timed

PRODUCTS = [("editor", "named", None), ("reports", "named", None)]


def add_users(count):
    """``count`` users holding editor, written directly (the data is the subject)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from wagtail_licensing.models import LicenseAssignment

    User = get_user_model()
    now = timezone.now()
    for low in range(0, count, 5000):
        high = min(low + 5000, count)
        users = User.objects.bulk_create(
            User(username=f"u{i:07d}", email=f"u{i:07d}@example.com") for i in range(low, high)
        )
        if users[0].pk is None:
            users = list(
                User.objects.filter(username__gte=f"u{low:07d}", username__lt=f"u{high:07d}")
            )
        LicenseAssignment.objects.bulk_create(
            LicenseAssignment(user=user, product_code="editor", granted_at=now) for user in users
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        _support.setup_django(Path(tmp) / "bench.sqlite3", fresh=True)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from rest_framework.test import APIClient

        from wagtail_licensing import operations
        from wagtail_licensing.models import AssignmentSource, LicenseAssignment

        _support.install_license(PRODUCTS, license_id="BENCH-API")
        User = get_user_model()
        admin = User.objects.create_superuser("bench-admin", "admin@example.com", "pw")
        add_users(args.users)
        _support.recount_counters(["editor"])
        _support.refresh_statistics([User, LicenseAssignment])
        secret = operations.create_api_token(owner=admin, name="bench", read_only=False).secret
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        base = "/api/licensing/v1/"

        pages = {}
        for size in (100, 1000):
            last = -(-args.users // size)
            for page in sorted({1, (last + 1) // 2, last}):

                def get(size=size, page=page):
                    response = client.get(f"{base}assignments/", {"page_size": size, "page": page})
                    assert response.status_code == 200, response.content[:200]
                    assert len(response.json()["results"]) == min(
                        size, args.users - (page - 1) * size
                    )

                pages[(size, page)] = timed(get)

        usernames = list(
            User.objects.filter(username__startswith="u")
            .order_by("pk")
            .values_list("username", flat=True)
        )

        def reset():
            operations.recall(User.objects.all(), ["reports"])

        def api_grant(names):
            def run():
                response = client.post(
                    f"{base}assignments/grant/",
                    {"users": names, "products": ["reports"]},
                    format="json",
                )
                assert response.status_code == 200, response.content[:300]
                assert len(response.json()["products"]["reports"]["granted"]) == len(names)

            return run

        def bulk_grant(names):
            return lambda: operations.grant(
                User.objects.filter(username__in=names),
                ["reports"],
                user=admin,
                source=AssignmentSource.BULK,
            )

        grants = {
            ("API", 10): timed(api_grant(usernames[:10]), setup=reset),
            ("API", args.users): timed(api_grant(usernames), setup=reset),
            ("bulk action", 10): timed(bulk_grant(usernames[:10]), setup=reset),
            ("bulk action", args.users): timed(bulk_grant(usernames), setup=reset),
        }
        vendor = connection.vendor

    print(f"Database: {vendor}; {args.users:,} users, {args.users:,} assignments.")
    print()
    print("GET assignments/ (a manager's API token):")
    for (size, page), (seconds, queries) in pages.items():
        print(f"  {size:5d} a page, page {page:4d}: {seconds * 1000:8.1f} ms {queries:3d} queries")
    print()
    print("Grant one product to many users in one call:")
    for (how, count), (seconds, queries) in grants.items():
        print(f"  {how:12s} {count:6,d} users: {seconds * 1000:9.1f} ms {queries:3d} queries")
    page_queries = {queries for _seconds, queries in pages.values()}
    same_pages = len(page_queries) == 1
    same_grants = grants[("API", 10)][1] == grants[("API", args.users)][1]
    same_bulk = grants[("bulk action", 10)][1] == grants[("bulk action", args.users)][1]
    extra = grants[("API", args.users)][1] - grants[("bulk action", args.users)][1]
    print()
    print(
        f"Queries per page constant: {same_pages}; API grant queries constant: "
        f"{same_grants} (bulk action: {same_bulk}); the API's own queries on top of the bulk "
        f"action's: {extra}."
    )
    ok = same_pages and same_grants and same_bulk
    print("Targets met." if ok else "Targets NOT met.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
