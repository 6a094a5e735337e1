"""Recall products from users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from ..models import (
    AssignmentSource,
    ConcurrentSession,
    GroupLicenseError,
    GroupLicenseSource,
    LicenseAssignment,
    LicensedProduct,
)
from . import counters
from .base import NAMES_LOGGED, LicensingAction, product_codes, user_queryset
from .group_results import source_hooks
from .group_seats import reconcile
from .results import AFTER_LICENSES_RECALLED, RecallResult
from .seats import reallocate

ACTION_RECALL = "wagtail_licensing.recall"


class RecallAction(LicensingAction[RecallResult]):
    """Never fails for seat reasons; recalling what a user does not hold changes nothing.
    Freed seats go to over-allocated holders without one.

    With ``idle_days``, only the assignments idle that long
    (``LicenseAssignment.objects.idle``) are recalled: "Recall idle seats" and the automatic
    reclaim (``automatic``, audited as such, with ``exclude`` the assignments it must spare).
    """

    log_action = ACTION_RECALL

    def __init__(self, users: Any, codes: str | Iterable[str], *, user: Any = None,
                 source: AssignmentSource = AssignmentSource.MANUAL,
                 idle_days: int | None = None, automatic: bool = False,
                 exclude: Any = None) -> None:
        super().__init__(user=user)
        self.users = users
        self.codes = product_codes(codes)
        self.source = source
        self.idle_days = idle_days
        self.automatic = automatic
        self.exclude = exclude

    def _run(self) -> RecallResult:
        state = self.state
        result = RecallResult()
        User = get_user_model()
        user_qs = user_queryset(self.users)
        assignments = LicenseAssignment.objects.filter(
            user_id__in=user_qs.values("pk"), product_code__in=self.codes
        )
        if self.idle_days is not None:
            assignments = assignments.idle(self.idle_days)
        if self.exclude is not None:
            assignments = assignments.exclude(self.exclude)
        # Assignments a group gives too stay (one seat, counted once): only their direct
        # grant is recalled. Recalling what only a group gives changes nothing.
        inherited = Exists(GroupLicenseSource.objects.filter(
            user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))
        kept = assignments.filter(inherited)
        for code, name in kept.filter(direct=True).order_by("product_code", "user_id") \
                .values_list("product_code", f"user__{User.USERNAME_FIELD}"):
            result.kept_via_group.setdefault(code, []).append(name)
        if result.kept_via_group:
            kept.filter(direct=True).update(direct=False)
        assignments = assignments.exclude(inherited)
        pairs = list(assignments.order_by("product_code", "user_id").values_list(
            "product_code", f"user__{User.USERNAME_FIELD}"))
        if not pairs:
            return result
        for code, name in pairs:
            result.recalled.setdefault(code, []).append(name)
        if state.installed_file_id:
            result.names = dict(LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=list(result.recalled)
            ).values_list("code", "name"))
        # A recalled concurrent license frees the slots its sessions held, so the seat counts
        # a manager sees are right at once, not after those users' next request. Only the
        # slots of the (user, product) pairs recalled: an idle recall keeps the others.
        ConcurrentSession.objects.filter(Exists(assignments.filter(
            user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))).delete()
        counters.delete_assignments(assignments)
        reallocate(state.installed_file_id, result.recalled, after_removal=True)
        # Freed seats go to members of bound groups waiting for one (their errors resolve).
        waiting = sorted(set(GroupLicenseError.objects.filter(
            product_code__in=list(result.recalled)).values_list("product_code", flat=True)))
        if waiting:
            result.group_changes = reconcile(state.installed_file_id, waiting, by=self.user)
        return result

    def log_data(self, result: RecallResult) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.idle_days is not None:
            extra["idle_days"] = self.idle_days
        if self.automatic:
            extra["automatic"] = True
        return {
            **extra,
            "source": "automatic" if self.automatic else str(self.source),
            "recalled": {code: {"count": len(names), "users": names[:NAMES_LOGGED]}
                         for code, names in result.recalled.items()},
            **({"kept_via_group": {code: {"count": len(names), "users": names[:NAMES_LOGGED]}
                                   for code, names in result.kept_via_group.items()}}
               if result.kept_via_group else {}),
        }

    def hooks(self, result: RecallResult) -> list[tuple[str, dict[str, Any]]]:
        if not result.changed:
            return []
        # Then the members of bound groups the freed seats went to (source "group").
        return [(AFTER_LICENSES_RECALLED, {"result": result}),
                *source_hooks(result.group_changes)]
