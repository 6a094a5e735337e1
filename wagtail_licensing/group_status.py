"""Read-only views of group-based licensing, shared by the admin screens, the command and the
status summaries: the bindings with their counts, the problems, a user's sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import (
    HELD_KINDS,
    GroupLicense,
    GroupLicenseError,
    GroupLicenseSource,
    LicenseAssignment,
)


@dataclass
class BindingRow:
    """One product bound to one group, with the members it seats and those it cannot."""

    group_id: int
    group: str
    code: str
    priority: int
    members: int
    holders: int  # members holding it through this group
    errors: int  # members left without it (licensing errors)


def _count(queryset: Any, **outer: str) -> Coalesce:
    filtered = queryset.filter(**{k: OuterRef(v) for k, v in outer.items()}).order_by()
    first = next(iter(outer))
    return Coalesce(
        Subquery(filtered.values(first).annotate(n=Count("pk")).values("n")[:1]), Value(0)
    )


def bindings(group: Group | int | None = None, *,
             groups: Iterable[int] | None = None) -> list[BindingRow]:
    """Every binding (of ``group``, or of the groups whose ids are ``groups``), in priority
    order per product: one query."""
    rows = (
        GroupLicense.objects.select_related("group")
        .annotate(
            _members=Count("group__user", distinct=True),
            _holders=_count(
                GroupLicenseSource.objects.all(), group_id="group_id", product_code="product_code"
            ),
            _errors=_count(
                GroupLicenseError.objects.all(), group_id="group_id", product_code="product_code"
            ),
        )
        .order_by("product_code", "priority", "group__name")
    )
    if group is not None:
        rows = rows.filter(group_id=getattr(group, "pk", group))
    if groups is not None:
        rows = rows.filter(group_id__in=list(groups))
    return [
        BindingRow(
            b.group_id, b.group.name, b.product_code, b.priority, b._members, b._holders, b._errors
        )
        for b in rows
    ]


def errors(group: Group | int | None = None) -> list[GroupLicenseError]:
    """The licensing errors (of ``group``), with their users and groups: one query."""
    rows = GroupLicenseError.objects.select_related("user", "group")
    if group is not None:
        rows = rows.filter(group_id=getattr(group, "pk", group))
    return list(rows)


def problem_count() -> int:
    """Members of bound groups left without a product: the License manager's and the
    dashboard's "licensing problems" (one query)."""
    return GroupLicenseError.objects.count()


def problems_by_code() -> dict[str, int]:
    return dict(
        GroupLicenseError.objects.order_by()
        .values("product_code")
        .annotate(n=Count("pk"))
        .values_list("product_code", "n")
    )


@dataclass
class UserSources:
    """Where a user's licenses come from: directly, and/or which groups; and their errors."""

    direct: set[str] = field(default_factory=set)
    groups: dict[str, list[str]] = field(default_factory=dict)  # code -> group names
    errors: list[GroupLicenseError] = field(default_factory=list)

    def label_parts(self, code: str) -> tuple[bool, list[str]]:
        return code in self.direct, self.groups.get(code, [])


def user_sources(user: Any) -> UserSources:
    """One user's sources and errors: three queries."""
    sources = UserSources()
    sources.direct = set(
        LicenseAssignment.objects.filter(user=user, direct=True).values_list(
            "product_code", flat=True
        )
    )
    for code, name in (
        GroupLicenseSource.objects.filter(user=user)
        .order_by("product_code", "group__name")
        .values_list("product_code", "group__name")
    ):
        sources.groups.setdefault(code, []).append(name)
    sources.errors = list(GroupLicenseError.objects.filter(user=user).select_related("group"))
    return sources


def groups_held_through(assignments: Iterable[Any]) -> dict[tuple[int, str], list[str]]:
    """The groups each of ``assignments`` is held through, by name, keyed by ``(user id,
    product code)``: one query for a page of them (none for no assignment)."""
    assignments = list(assignments)
    if not assignments:
        return {}
    out: dict[tuple[int, str], list[str]] = {}
    for user_id, code, name in (
        GroupLicenseSource.objects.filter(
            user_id__in={a.user_id for a in assignments},
            product_code__in={a.product_code for a in assignments},
        )
        .order_by("group__name")
        .values_list("user_id", "product_code", "group__name")
    ):
        out.setdefault((user_id, code), []).append(name)
    return out


def source_filter(kind: str) -> Q | Exists:
    """System users' "source" filter on users: ``direct`` (a license granted directly),
    ``inherited`` (one held through a group), ``both`` (one product both ways), as
    ``LicenseAssignment.objects.held`` says of assignments; ``problems`` (a licensing error)."""
    if kind in HELD_KINDS:
        return Exists(LicenseAssignment.objects.held(kind).filter(user_id=OuterRef("pk")))
    if kind == "problems":
        return Exists(GroupLicenseError.objects.filter(user_id=OuterRef("pk")))
    return Q()
