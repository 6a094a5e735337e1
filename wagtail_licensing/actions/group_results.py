"""What the group licensing actions return: data only (views, the command and hooks word it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db import models

from .base import NAMES_LOGGED, LicensingAction
from .group_seats import GroupChanges

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


def group_of(group: Group | int) -> Group:
    return group if isinstance(group, Group) else Group.objects.get(pk=group)


class GroupLicensesAction(LicensingAction[GroupLicensesResult]):
    """The audit entry and hook every group licensing action shares (a base class)."""

    log_action = ACTION_GROUP_LICENSES

    def log_data(self, result: GroupLicensesResult) -> dict[str, Any]:
        changes = result.changes
        return {
            "event": str(result.event),
            "source": "group",
            "groups": result.groups[:NAMES_LOGGED],
            "products": result.codes,
            "bound": result.bound,
            "unbound": result.unbound,
            "granted": changes.granted,
            "removed": changes.removed,
            "made_inherited": changes.made_inherited,
            "errors": changes.errors,
            "resolved": changes.resolved,
        }

    def hooks(self, result: GroupLicensesResult) -> list[tuple[str, dict[str, Any]]]:
        if not result.changed:
            return []
        return [(AFTER_GROUP_LICENSES_CHANGED, {"result": result})]
