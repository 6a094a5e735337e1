"""The two seat writes several actions share: give seats by grant order, insert assignments.

Helpers of actions, called under the lock an action holds; they are not actions themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from django.db import connections, router
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    F,
    Field,
    QuerySet,
    Value,
    When,
)

from ..models import AssignmentSource, LicenseAssignment, LicensedProduct
from . import counters


def reallocate(license_file_id: int | None, codes: Iterable[str] | None = None, *,
               after_removal: bool = False) -> None:
    """Give seats to the earliest-granted active holders, up to each product's seat count,
    and recount the products' counters (``counters``).

    One UPDATE per product, however many users hold it. Inactive users never hold a seat;
    unlimited and concurrent products seat every active holder. Codes the installed file
    (``license_file_id``; None in demo mode) does not have are only recounted.

    ``after_removal``: only assignments were removed, and the counters already say so
    (``counters.delete_assignments``); a product whose active holders all have a seat, or
    whose seats are all taken, then needs nothing, so a recall costs what it removed, not
    what the product's other holders are.
    """
    wanted = None if codes is None else list(dict.fromkeys(codes))
    queryset = LicensedProduct.objects.filter(license_file_id=license_file_id)
    if wanted is not None:
        queryset = queryset.filter(code__in=wanted)
    products = list(queryset.only("code", "type", "seats")) if license_file_id else []
    if after_removal:
        kept = counters.kept(p.code for p in products)
        products = [p for p in products if _needs_seats(p, kept.get(p.code))]
    for product in products:
        holders = LicenseAssignment.objects.filter(product_code=product.code)
        seated = holders.filter(user__is_active=True)
        if product.counts_seats:
            seated = seated.order_by("granted_at", "pk")[: product.seats]
        # IN (subquery with LIMIT): fine on PostgreSQL and SQLite, the supported databases.
        holders.update(
            has_seat=Case(
                When(pk__in=seated.values("pk"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    if after_removal:
        counters.recount(p.code for p in products)
    else:
        counters.recount(wanted if wanted is not None else [p.code for p in products])


def _needs_seats(product: LicensedProduct, kept: counters.Counts | None) -> bool:
    """Whether an active holder of ``product`` lacks a seat that is free (by the counters)."""
    if kept is None:
        return True
    seated_at_most = kept.active_holders
    if product.counts_seats and product.seats is not None:
        seated_at_most = min(seated_at_most, product.seats)
    return kept.used < seated_at_most


def insert_assignments(user_qs: QuerySet, product: LicensedProduct, by: Any,
                       source: AssignmentSource, now: datetime, *, direct: bool = True) -> int:
    """Insert the product's assignments for every eligible user of ``user_qs`` in one
    ``INSERT ... SELECT``: the query count does not grow with the number of users. ``by`` is
    recorded as ``granted_by``. Returns how many rows were inserted.

    Users who already hold the product are skipped by ``ON CONFLICT DO NOTHING`` on the
    (user, product) unique index rather than by a NOT EXISTS anti-join, whose plan depends on
    table statistics that a large grant earlier in the same transaction has made stale; the
    index probe per row costs the same whatever the planner believes (10,000 users and two
    products on PostgreSQL: 0.35 s, against 0.8 s with the anti-join).

    ``direct``: False for assignments held through groups (``group_seats``).
    """
    by_field = LicenseAssignment._meta.get_field("granted_by").target_field
    source_qs = (
        product.eligible_users(user_qs)
        # Annotated in column order: older Django selects annotations in the order added.
        .annotate(
            _a_user=F("pk"),
            _a_code=Value(product.code, output_field=CharField()),
            _a_seat=Value(True, output_field=BooleanField()),
            _a_at=Value(now, output_field=DateTimeField()),
            _a_by=Value(by.pk if by else None, output_field=by_field),
            _a_source=Value(source, output_field=CharField()),
            _a_direct=Value(direct, output_field=BooleanField()),
        )
        .values_list("_a_user", "_a_code", "_a_seat", "_a_at", "_a_by", "_a_source",
                     "_a_direct")
    )
    db = router.db_for_write(LicenseAssignment)
    connection = connections[db]
    select_sql, params = source_qs.query.get_compiler(connection=connection).as_sql()
    meta = LicenseAssignment._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(_column(name))
        for name in ("user", "product_code", "has_seat", "granted_at", "granted_by", "source",
                     "direct")
    )
    conflict = ", ".join(quote(_column(name)) for name in ("user", "product_code"))
    # The SELECT always has a WHERE clause (is_active), which SQLite's upsert syntax needs.
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) {select_sql} "  # noqa: S608
           f"ON CONFLICT ({conflict}) DO NOTHING")
    # Every eligible user who holds nothing yet is inserted: the license holders to add.
    first = counters.holding_nothing(product.eligible_users(user_qs))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount
    # Never more than were inserted: a user deactivated or made a portal user between the two
    # statements (users are not under the licensing lock) was not inserted.
    counters.move_license_holders(min(first, inserted))
    # Every inserted row is an active, eligible user's (a portal user's exactly for a portal
    # product), with a seat.
    counters.add(product.code, counters.Counts(
        inserted, inserted, inserted, inserted if product.for_portal_users else 0))
    return inserted


def _column(name: str) -> str:
    """The database column of one of ``LicenseAssignment``'s concrete fields."""
    return str(cast("Field[Any, Any]", LicenseAssignment._meta.get_field(name)).column)
