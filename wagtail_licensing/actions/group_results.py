"""What the group licensing actions return: data only (views, the command and hooks word it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db import models

from ..models import GroupLicense
from .base import NAMES_LOGGED, LicensingAction
from .group_seats import GroupChanges
from .results import (
    AFTER_LICENSES_GRANTED,
    AFTER_LICENSES_RECALLED,
    GrantResult,
    LicenseSource,
    RecallResult,
)

ACTION_GROUP_LICENSES = "wagtail_licensing.group_licenses"
AFTER_GROUP_LICENSES_CHANGED = "after_group_licenses_changed"


class GroupEvent(models.TextChoices):
    """What changed a group's licenses (the audit entry's ``event``)."""

    BOUND = "bound"
    UNBOUND = "unbound"
    MEMBERSHIP = "membership"
    REPROCESSED = "reprocessed"


@dataclass
class GroupLicensesResult:
    """A binding, unbinding, membership change or reprocess and what it did to seats."""

    event: GroupEvent
    groups: list[str] = field(default_factory=list)  # group names
    codes: list[str] = field(default_factory=list)  # product codes reconciled
    bound: list[str] = field(default_factory=list)
    unbound: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # code -> reason (bind only)
    changes: GroupChanges = field(default_factory=GroupChanges)

    @property
    def changed(self) -> bool:
        return bool(self.bound or self.unbound or self.changes.changed)


@dataclass
class GroupBindingPreview:
    """What binding ``code`` to a group would do, before it is saved."""

    group: str
    code: str
    name: str
    installed: bool
    members: int  # active members of the group
    already: int  # members who hold the product already (directly or through another group)
    needed: int  # members who need a new seat
    ineligible: int  # members who cannot hold this type of product
    available: int | None  # seats free now (None: unlimited)
    left_without: int  # members who would be left without a seat
    left_names: list[str] = field(default_factory=list)  # the first of them, in seating order


def result_data(result: GroupLicensesResult) -> dict[str, Any]:
    """The result as plain data (``licensing groups ... --json`` and the API): what was
    bound, unbound or refused, and the seats given, removed and left in error per product."""
    changes = result.changes
    return {
        "event": str(result.event),
        "groups": result.groups,
        "products": result.codes,
        "bound": result.bound,
        "unbound": result.unbound,
        "refused": result.refused,
        "granted": changes.granted,
        "removed": changes.removed,
        "made_inherited": changes.made_inherited,
        "resolved": changes.resolved,
        "errors": changes.errors,
    }


def source_hooks(
    changes: GroupChanges | None, groups: list[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The grant and recall hooks of what a reconciliation created and removed, with the
    source "group": ``after_licenses_recalled`` then ``after_licenses_granted``, each only
    when it has users (``changes`` has them only when such a hook is registered).

    ``groups``: the groups that caused the change (a binding's, a membership's); None, when
    something else did (an install, a recall, a deactivation, reprocessing everything): the
    groups bound to the products concerned, one query."""
    if changes is None or not (changes.granted_users or changes.removed_users):
        return []
    if not groups:
        codes = sorted(set(changes.granted_users) | set(changes.removed_users))
        groups = list(
            GroupLicense.objects.filter(product_code__in=codes)
            .order_by("group__name")
            .values_list("group__name", flat=True)
            .distinct()
        )
    calls: list[tuple[str, dict[str, Any]]] = []
    if changes.removed_users:
        calls.append((AFTER_LICENSES_RECALLED, {"result": RecallResult(
            recalled=dict(changes.removed_users),
            names={c: n for c, n in changes.names.items() if c in changes.removed_users},
            source=LicenseSource.GROUP, groups=list(groups))}))
    if changes.granted_users:
        calls.append((AFTER_LICENSES_GRANTED, {"result": GrantResult(
            granted=dict(changes.granted_users),
            names={c: n for c, n in changes.names.items() if c in changes.granted_users},
            types={c: t for c, t in changes.types.items() if c in changes.granted_users},
            source=LicenseSource.GROUP, groups=list(groups))}))
    return calls


def group_of(group: Group | int) -> Group:
    return group if isinstance(group, Group) else Group.objects.get(pk=group)


class GroupLicensesAction(LicensingAction[GroupLicensesResult]):
    """The audit entry and hook every group licensing action shares (a base class)."""

    log_action = ACTION_GROUP_LICENSES

    def count_bindings(self, added: int) -> None:
        """Keep ``LicensingState.group_bindings`` right: ``added`` bindings were created
        (negative: removed, by an unbinding or with a deleted group). One query, under the
        lock, only in those actions."""
        self._store_bindings(max(self.state.group_bindings + added, 0))

    def recount_bindings(self) -> None:
        """Count the bindings again (reprocessing everything repairs the count): one query,
        and one more when it was wrong."""
        self._store_bindings(GroupLicense.objects.count())

    def _store_bindings(self, count: int) -> None:
        state = self.state
        if count != state.group_bindings:
            state.group_bindings = count
            state.save(update_fields=["group_bindings"])

    def log_data(self, result: GroupLicensesResult) -> dict[str, Any]:
        data = result_data(result)
        del data["refused"]  # a refused binding changed nothing: not on record
        return {**data, "source": "group", "groups": result.groups[:NAMES_LOGGED]}

    def hooks(self, result: GroupLicensesResult) -> list[tuple[str, dict[str, Any]]]:
        if not result.changed:
            return []
        return [
            *source_hooks(result.changes, result.groups),
            (AFTER_GROUP_LICENSES_CHANGED, {"result": result}),
        ]
