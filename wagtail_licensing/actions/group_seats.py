"""Group-based licensing: bring the members of bound groups in line with their bindings.

``reconcile()`` is the one writer of inherited assignments (``LicenseAssignment.direct`` False),
their sources (``GroupLicenseSource``) and the members' errors (``GroupLicenseError``); the
group actions (``actions.groups``), installs and recalls call it under the lock they hold. Every
step is one set-based statement per product code (``INSERT ... SELECT``, ``UPDATE``, ``DELETE``),
so that the number of queries never grows with the number of members.

Seating order when seats run out: the group's priority (lower first, the best of the user's
bound groups), then the earliest membership. Django's group membership table has no timestamp,
so "earliest" is the membership row's id: the order in which users were added to the groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    Field,
    IntegerField,
    Min,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from ..dates import site_today
from ..models import (
    AssignmentSource,
    ConcurrentSession,
    GroupLicense,
    GroupLicenseError,
    GroupLicenseErrorReason,
    GroupLicenseSource,
    LicenseAssignment,
    LicensedProduct,
    ProductType,
    is_portal_user_expression,
)
from . import counters
from .base import hook_wanted
from .results import AFTER_LICENSES_GRANTED, AFTER_LICENSES_RECALLED
from .seats import insert_assignments, reallocate


@dataclass
class GroupChanges:
    """What one reconciliation did, per product code (counts only: it may touch thousands)."""

    granted: dict[str, int] = field(default_factory=dict)  # new inherited assignments
    removed: dict[str, int] = field(default_factory=dict)  # assignments whose last source went
    sources_added: dict[str, int] = field(default_factory=dict)
    sources_removed: dict[str, int] = field(default_factory=dict)
    made_inherited: dict[str, int] = field(default_factory=dict)  # direct grants removed
    errors: dict[str, int] = field(default_factory=dict)  # errors left, per code
    resolved: dict[str, int] = field(default_factory=dict)  # errors that went away
    new_errors: dict[str, int] = field(default_factory=dict)
    # Who, for the grant and recall hooks (``source_hooks``): usernames per code of the
    # assignments created (``granted_users``) and removed (``removed_users``). Filled only
    # when a site registered ``after_licenses_granted`` / ``after_licenses_recalled``
    # (one query per product that changed), empty otherwise.
    granted_users: dict[str, list[str]] = field(default_factory=dict)
    removed_users: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # code -> product name (if installed)
    types: dict[str, ProductType] = field(default_factory=dict)  # code -> product type

    @property
    def changed(self) -> bool:
        return any(
            (
                self.granted,
                self.removed,
                self.sources_added,
                self.sources_removed,
                self.made_inherited,
                self.resolved,
                self.new_errors,
            )
        )

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def merge(self, other: GroupChanges) -> None:
        for name in (
            "granted",
            "removed",
            "sources_added",
            "sources_removed",
            "made_inherited",
            "resolved",
            "new_errors",
            "errors",
        ):
            mine, theirs = getattr(self, name), getattr(other, name)
            for code, n in theirs.items():
                mine[code] = mine.get(code, 0) + n
        self.errors = {c: n for c, n in self.errors.items() if n}
        for name in ("granted_users", "removed_users"):
            mine_lists, their_lists = getattr(self, name), getattr(other, name)
            for code, names in their_lists.items():
                mine_lists.setdefault(code, []).extend(names)
        self.names.update(other.names)
        self.types.update(other.types)


def membership_model() -> type[Model]:
    """The user model's group membership table (``User.groups.through``)."""
    return get_user_model().groups.through


def membership_fields() -> tuple[str, str]:
    """The membership table's user and group field names (custom user models differ)."""
    m2m = get_user_model()._meta.get_field("groups")
    return m2m.m2m_field_name(), m2m.m2m_reverse_field_name()


def bindings_by_code(
    codes: Iterable[str] | None = None, groups: Iterable[Any] | None = None
) -> dict[str, dict[int, int]]:
    """``{code: {group id: priority}}`` of the bindings (of ``codes``, or of ``groups``'
    codes): one query."""
    rows = GroupLicense.objects.all()
    if codes is not None:
        rows = rows.filter(product_code__in=list(codes))
    if groups is not None:
        rows = rows.filter(
            product_code__in=GroupLicense.objects.filter(
                group_id__in=[getattr(g, "pk", g) for g in groups]
            ).values("product_code")
        )
    result: dict[str, dict[int, int]] = {}
    for code, group_id, priority in rows.order_by().values_list(
        "product_code", "group_id", "priority"
    ):
        result.setdefault(code, {})[group_id] = priority
    return result


def reconcile(
    license_file_id: int | None,
    codes: Iterable[str],
    *,
    users: Any = None,
    remove_manual_for: int | None = None,
    by: Any = None,
) -> GroupChanges:
    """Make the inherited assignments, sources and errors of ``codes`` match the bindings and
    memberships, for ``users`` (a queryset; None: everyone). ``remove_manual_for``: a group
    id whose members' direct grants of its products become inherited (Creatio's "remove
    manually granted licenses"). Call it under the licensing lock.

    The usernames of the assignments created and removed are read (one query per product)
    only when a grant or recall hook is registered (``GroupChanges.granted_users``)."""
    changes = GroupChanges()
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return changes
    track = _Tracking(hook_wanted(AFTER_LICENSES_GRANTED), hook_wanted(AFTER_LICENSES_RECALLED))
    bindings = bindings_by_code(wanted)
    products = (
        {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=license_file_id, code__in=wanted
            )
        }
        if license_file_id
        else {}
    )
    for code in wanted:
        product = products.get(code)
        if product is not None:
            changes.names[code] = product.name
            changes.types[code] = ProductType(product.type)
        _reconcile_code(
            changes, code, bindings.get(code, {}), product, users, remove_manual_for, by, track
        )
    return changes


@dataclass(frozen=True)
class _Tracking:
    """Which usernames a reconciliation reads for the hooks: of new assignments, of removed."""

    granted: bool
    removed: bool


def _reconcile_code(
    changes: GroupChanges,
    code: str,
    bound: dict[int, int],
    product: LicensedProduct | None,
    users: Any,
    remove_manual_for: int | None,
    by: Any,
    track: _Tracking,
) -> None:
    User = get_user_model()
    user_field, group_field = membership_fields()
    Membership = membership_model()
    memberships = Membership._default_manager.filter(**{f"{group_field}_id__in": list(bound)})
    sources = GroupLicenseSource.objects.filter(product_code=code)
    assignments = LicenseAssignment.objects.filter(product_code=code)
    errors = GroupLicenseError.objects.filter(product_code=code)
    if users is not None:
        user_pks = users.values("pk")
        memberships = memberships.filter(**{f"{user_field}_id__in": user_pks})
        sources = sources.filter(user_id__in=user_pks)
        assignments = assignments.filter(user_id__in=user_pks)
        errors = errors.filter(user_id__in=user_pks)

    # 1. Sources whose membership or binding is gone.
    if bound:
        stale = sources.exclude(
            Exists(
                Membership._default_manager.filter(
                    **{
                        f"{user_field}_id": OuterRef("user_id"),
                        f"{group_field}_id": OuterRef("group_id"),
                        f"{group_field}_id__in": list(bound),
                    }
                )
            )
        )
    else:
        stale = sources
    n, _ = stale.delete()
    _add(changes.sources_removed, code, n)

    # 2. Members who already hold the product gain the source (one seat, counted once).
    if bound:
        _add(
            changes.sources_added, code, _insert_sources(memberships, code, user_field, group_field)
        )
        if remove_manual_for is not None and remove_manual_for in bound:
            n = (
                assignments.filter(direct=True)
                .filter(
                    Exists(
                        GroupLicenseSource.objects.filter(
                            user_id=OuterRef("user_id"),
                            product_code=code,
                            group_id=remove_manual_for,
                        )
                    )
                )
                .update(direct=False)
            )
            _add(changes.made_inherited, code, n)

    # 3. Inherited assignments left without a source go, and free their seats.
    orphans = assignments.filter(direct=False).exclude(
        Exists(
            GroupLicenseSource.objects.filter(
                user_id=OuterRef("user_id"), product_code=OuterRef("product_code")
            )
        )
    )
    if track.removed:
        gone = list(
            orphans.order_by("user_id").values_list(f"user__{User.USERNAME_FIELD}", flat=True)
        )
        if gone:
            changes.removed_users.setdefault(code, []).extend(gone)
    ConcurrentSession.objects.filter(
        Exists(orphans.filter(user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))
    ).delete()
    removed = counters.delete_assignments(orphans).get(code)
    freed = bool(removed and removed.holders)
    if freed and removed is not None:
        _add(changes.removed, code, removed.holders)
        if product is not None:
            reallocate(product.license_file_id, [code], after_removal=True)

    if not bound:
        _add(changes.resolved, code, errors.delete()[0])
        return

    # A single member's change looks only at that member, unless seats were freed or other
    # members wait for one: they come first (earliest membership).
    if (
        users is not None
        and not freed
        and not GroupLicenseError.objects.filter(product_code=code)
        .exclude(user_id__in=users.values("pk"))
        .exists()
    ):
        scoped_memberships, scoped_errors = memberships, errors
    else:
        scoped_memberships = Membership._default_manager.filter(
            **{f"{group_field}_id__in": list(bound)}
        )
        scoped_errors = GroupLicenseError.objects.filter(product_code=code)

    # 4. Seat the members who do not hold the product yet, in order, up to the seats free.
    reason: GroupLicenseErrorReason | None = None
    if product is None:
        reason = GroupLicenseErrorReason.NOT_INSTALLED
    elif not product.is_grantable_on(site_today()):
        reason = GroupLicenseErrorReason.NOT_GRANTABLE
    else:
        waiting = (
            scoped_memberships.filter(**{f"{user_field}__is_active": True})
            .annotate(_portal=is_portal_user_expression(f"{user_field}_id"))
            .filter(_portal=product.for_portal_users)
            .exclude(
                Exists(
                    LicenseAssignment.objects.filter(
                        user_id=OuterRef(f"{user_field}_id"), product_code=code
                    )
                )
            )
        )
        limit = None
        if product.counts_seats:
            usage = LicensedProduct.objects.filter(pk=product.pk).with_usage().get()
            limit = usage.available or 0
        if limit is None or limit > 0:
            ranked = (
                waiting.values(f"{user_field}_id")
                .annotate(_priority=Min(_priority(bound, group_field)), _first=Min("pk"))
                .order_by("_priority", "_first", f"{user_field}_id")
                .values_list(f"{user_field}_id", flat=True)
            )
            if limit is not None:
                ranked = ranked[:limit]
            seated = User._default_manager.filter(pk__in=ranked)
            if track.granted:
                # Read before the insert, from the same statement: under the lock, the rows
                # it then inserts are exactly these (the ranking is total: user id last).
                new = list(
                    product.eligible_users(seated)
                    .order_by("pk")
                    .values_list(User.USERNAME_FIELD, flat=True)
                )
                if new:
                    changes.granted_users.setdefault(code, []).extend(new)
            granted = insert_assignments(
                seated,
                product,
                by,
                AssignmentSource.GROUP,
                timezone.now(),
                direct=False,
            )
            if granted:
                _add(changes.granted, code, granted)
                _add(
                    changes.sources_added,
                    code,
                    _insert_sources(scoped_memberships, code, user_field, group_field),
                )

    # 5. Errors: every active member of a bound group still without the product.
    before = scoped_errors.count()
    scoped_errors.delete()
    left = scoped_memberships.filter(**{f"{user_field}__is_active": True}).exclude(
        Exists(
            LicenseAssignment.objects.filter(
                user_id=OuterRef(f"{user_field}_id"), product_code=code
            )
        )
    )
    if reason is not None:
        why: Any = Value(str(reason), output_field=CharField())
    else:
        assert product is not None  # noqa: S101 - reason is None only with a product
        left = left.annotate(_portal=is_portal_user_expression(f"{user_field}_id"))
        why = Case(
            When(
                _portal=not product.for_portal_users,
                then=Value(str(GroupLicenseErrorReason.NOT_ELIGIBLE)),
            ),
            default=Value(str(GroupLicenseErrorReason.NOT_ENOUGH_SEATS)),
            output_field=CharField(),
        )
    rows = left.annotate(
        _e_user=F(f"{user_field}_id"),
        _e_code=Value(code, output_field=CharField()),
        _e_group=F(f"{group_field}_id"),
        _e_reason=why,
        _e_at=Value(timezone.now(), output_field=DateTimeField()),
    ).values_list("_e_user", "_e_code", "_e_group", "_e_reason", "_e_at")
    after = insert_select(
        GroupLicenseError,
        ("user", "product_code", "group", "reason", "created_at"),
        rows,
        ("user", "product_code", "group"),
    )
    if after:
        changes.errors[code] = changes.errors.get(code, 0) + after
    if after > before:
        _add(changes.new_errors, code, after - before)
    elif before > after:
        _add(changes.resolved, code, before - after)


def _priority(bound: dict[int, int], group_field: str) -> Case:
    return Case(
        *(When(**{f"{group_field}_id": gid}, then=Value(p)) for gid, p in bound.items()),
        default=Value(2**31 - 1),
        output_field=IntegerField(),
    )


def _add(into: dict[str, int], code: str, n: int) -> None:
    if n:
        into[code] = into.get(code, 0) + n


def _insert_sources(memberships: QuerySet, code: str, user_field: str, group_field: str) -> int:
    """A source for every membership whose user holds ``code`` (one ``INSERT ... SELECT``)."""
    rows = (
        memberships.filter(
            Exists(
                LicenseAssignment.objects.filter(
                    user_id=OuterRef(f"{user_field}_id"), product_code=code
                )
            )
        )
        .annotate(
            _s_user=F(f"{user_field}_id"),
            _s_code=Value(code, output_field=CharField()),
            _s_group=F(f"{group_field}_id"),
        )
        .values_list("_s_user", "_s_code", "_s_group")
    )
    return insert_select(
        GroupLicenseSource,
        ("user", "product_code", "group"),
        rows,
        ("user", "product_code", "group"),
    )


def insert_select(
    model: type[Model], fields: Iterable[str], rows: QuerySet, conflict: Iterable[str]
) -> int:
    """``INSERT INTO model (fields) SELECT ... ON CONFLICT (conflict) DO NOTHING``: one
    query whatever the number of rows; how many rows were inserted. ``rows`` must select
    the values in ``fields`` order and have a WHERE clause (SQLite's upsert syntax)."""
    db = router.db_for_write(model)
    connection = connections[db]
    try:
        select_sql, params = rows.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:  # an empty IN () list: nothing to insert
        return 0
    quote = connection.ops.quote_name
    meta = model._meta

    def column(name: str) -> str:
        return quote(str(cast("Field[Any, Any]", meta.get_field(name)).column))

    columns = ", ".join(column(name) for name in fields)
    conflict_sql = ", ".join(column(name) for name in conflict)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) {select_sql} "  # noqa: S608
        f"ON CONFLICT ({conflict_sql}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def follow_status(
    license_file_id: int | None, users: QuerySet, *, any_bound: bool = True
) -> GroupChanges:
    """Users were deactivated, reactivated or deleted (``actions.deactivation``): reactivated
    members get their groups' products again, and seats a deactivation freed go to members
    waiting for one. ``any_bound``: whether any product is bound to a group
    (``LicensingState.group_bindings``); without, no query (errors exist only for bound
    products, so there is nothing to follow). One query when none of the users' groups is
    bound and no member waits."""
    if not any_bound:
        return GroupChanges()
    user_field, group_field = membership_fields()
    groups = membership_model()._default_manager.filter(
        **{f"{user_field}_id__in": users.values("pk")}
    ).values(f"{group_field}_id")
    codes = list(
        GroupLicense.objects.filter(
            Q(group_id__in=groups)
            | Q(product_code__in=GroupLicenseError.objects.values("product_code"))
        )
        .order_by("product_code")
        .values_list("product_code", flat=True)
        .distinct()
    )
    return reconcile(license_file_id, codes)
