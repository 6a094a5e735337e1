"""What actions return: data only (who, which product, refused with which reason and numbers).

Views, the management command and the API turn these into words through ``wording``; hooks
receive them as they are (docs/hooks.md). Nothing here builds text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import models

from ..importing import ImportPlan
from ..models import ProductType
from ..rules.labels import product_label

# The hooks a grant and a recall call (docs/hooks.md); here so that group seating can say
# whether a site registered them without importing the grant and recall actions.
AFTER_LICENSES_GRANTED = "after_licenses_granted"
AFTER_LICENSES_RECALLED = "after_licenses_recalled"


class LicenseSource(models.TextChoices):
    """What a grant or recall result came from: a manager (or site code) granting or recalling
    directly, or group-based licensing seating or unseating members of bound groups."""

    DIRECT = "direct"
    GROUP = "group"


class GrantRefusalReason(models.TextChoices):
    """Why a product as a whole was not granted (all-or-nothing per product)."""

    NOT_INSTALLED = "not_installed"  # no product of the installed license has the code
    NOT_GRANTABLE = "not_grantable"  # outside its validity dates today
    NOT_ENOUGH_SEATS = "not_enough_seats"  # fewer seats available than users to grant


@dataclass
class GrantRefusal:
    """A product that was not granted, and the numbers that say why."""

    reason: GrantRefusalReason
    code: str
    name: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    needed: int = 0
    available: int | None = None
    seats: int | None = None

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)


@dataclass
class GrantResult:
    """What a grant did, per product code: usernames granted, skipped, and refusals."""

    granted: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, GrantRefusal] = field(default_factory=dict)
    already: dict[str, list[str]] = field(default_factory=dict)
    wrong_type: dict[str, list[str]] = field(default_factory=dict)
    inactive: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # code -> product name
    types: dict[str, ProductType] = field(default_factory=dict)  # code -> product type
    # Users who held the product through a group only: now held directly too (same seat).
    via_group: dict[str, list[str]] = field(default_factory=dict)
    # "group": members of bound groups seated by group licensing; ``groups`` names the groups.
    source: LicenseSource = LicenseSource.DIRECT
    groups: list[str] = field(default_factory=list)

    @property
    def granted_count(self) -> int:
        return sum(len(users) for users in self.granted.values())

    @property
    def changed(self) -> bool:
        return self.granted_count > 0 or any(self.via_group.values())

    def label(self, code: str) -> str:
        return product_label(self.names.get(code), code)


@dataclass
class RecallResult:
    """What a recall did: usernames per product code."""

    recalled: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # code -> product name (if installed)
    # Users who keep the product through a group: only the direct grant was recalled.
    kept_via_group: dict[str, list[str]] = field(default_factory=dict)
    # What the reconciliation after the recall did (errors resolved by the freed seats).
    group_changes: Any = None
    # "group": assignments whose last group source went; ``groups`` names the groups.
    source: LicenseSource = LicenseSource.DIRECT
    groups: list[str] = field(default_factory=list)

    @property
    def recalled_count(self) -> int:
        return sum(len(users) for users in self.recalled.values())

    @property
    def changed(self) -> bool:
        return bool(self.recalled) or any(self.kept_via_group.values())

    def label(self, code: str) -> str:
        return product_label(self.names.get(code), code)


@dataclass
class ImportResult:
    """What a confirmed import did: ``granted`` and ``recalled`` count users per product."""

    plan: ImportPlan
    granted: dict[str, int] = field(default_factory=dict)
    recalled: dict[str, int] = field(default_factory=dict)

    @property
    def granted_count(self) -> int:
        return sum(self.granted.values())

    @property
    def recalled_count(self) -> int:
        return sum(self.recalled.values())

    @property
    def unchanged_count(self) -> int:
        return self.plan.unchanged

    @property
    def changed(self) -> bool:
        return bool(self.granted or self.recalled)


@dataclass
class PortalUserResult:
    """A portal user account created or converted, and what was granted or recalled."""

    user: Any  # an instance of the site's user model
    granted: GrantResult | None = None
    recalled: RecallResult | None = None
    changed: bool = True
