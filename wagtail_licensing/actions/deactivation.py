"""Seats follow users: a user deactivated, reactivated or deleted changes seats at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from .. import census
from ..models import LicenseAssignment
from . import counters
from .base import LicensingAction, user_queryset
from .group_results import source_hooks
from .group_seats import GroupChanges, follow_status
from .seats import reallocate

ACTION_USER_STATUS = "wagtail_licensing.user_status"


class StatusEvent(models.TextChoices):
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"


@dataclass
class StatusChange:
    """One user whose status change moved seats."""

    event: StatusEvent
    username: str
    user_id: str
    codes: list[str]


@dataclass
class StatusResult:
    changes: list[StatusChange] = field(default_factory=list)
    # What following the status did to group members' seats (``group_seats.follow_status``).
    groups: GroupChanges = field(default_factory=GroupChanges)

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.groups.changed


class _StatusAction(LicensingAction[StatusResult]):
    # Not a licensing decision but its consequence: whoever may deactivate or delete an
    # account in Settings > Users (a user admin without CanManageLicUsers, or a signal with no
    # user at all) moves its seats, or seat counts would be wrong until a manager acts.
    permission_required = False
    log_action = ACTION_USER_STATUS

    def hooks(self, result: StatusResult) -> list[tuple[str, dict[str, Any]]]:
        # Members of bound groups seated by the seats a deactivation freed, or a reactivated
        # member given their groups' products again (source "group").
        return source_hooks(result.groups)

    def log_entries(self, result: StatusResult) -> list[dict[str, Any]]:
        return [{"event": str(change.event), "user": change.username, "user_id": change.user_id,
                 "products": change.codes} for change in result.changes]


class UserStatusChanged(_StatusAction):
    """Seat rule 1 for one user (``post_save`` / ``post_delete`` of the user model)."""

    def __init__(self, subject: Any, *, user: Any = None,
                 deleted_codes: Iterable[str] | None = None) -> None:
        super().__init__(user=user)
        self.subject = subject
        self.deleted_codes = None if deleted_codes is None else list(deleted_codes)

    def _run(self) -> StatusResult:
        subject = self.subject
        if self.deleted_codes is None:
            codes = list(LicenseAssignment.objects.filter(user=subject).values_list(
                "product_code", flat=True))
            event = StatusEvent.ACTIVATED if subject.is_active else StatusEvent.DEACTIVATED
        else:
            codes = self.deleted_codes
            event = StatusEvent.DELETED
            if codes:  # its assignments went with it (a cascade, not delete_assignments)
                counters.move_license_holders(-1)
        if codes:
            reallocate(self.state.installed_file_id, codes)
        # Reactivated members get their groups' products back; freed seats go to members of
        # bound groups waiting for one.
        groups = follow_status(self.state.installed_file_id, user_queryset([subject]),
                               any_bound=self.state.group_bindings > 0)
        if not codes:
            return StatusResult(groups=groups)
        return StatusResult([StatusChange(event, subject.get_username(), str(subject.pk),
                                          codes)], groups=groups)


class UsersStatusChanged(_StatusAction):
    """Many users activated or deactivated by one ``UPDATE`` (Wagtail's "Set active state"
    bulk action), so no ``post_save`` reached ``UserStatusChanged``: seats follow all the
    same, and so does the user census (each of ``subjects`` changed state, as its
    ``is_active`` now says). One reallocation and one version bump for all of them; an audit
    entry for each user who holds a license."""

    def __init__(self, subjects: Any, *, user: Any = None) -> None:
        super().__init__(user=user)
        self.subjects = subjects

    def _run(self) -> StatusResult:
        user_qs = user_queryset(self.subjects)
        census.users_active_changed(user_qs)
        held: dict[Any, list[str]] = {}
        for user_id, code in LicenseAssignment.objects.filter(
                user_id__in=user_qs.values("pk")).values_list("user_id", "product_code"):
            held.setdefault(user_id, []).append(code)
        if held:
            reallocate(self.state.installed_file_id,
                       {c for codes in held.values() for c in codes})
        result = StatusResult(groups=follow_status(self.state.installed_file_id, user_qs,
                                                   any_bound=self.state.group_bindings > 0))
        if not held:
            return result
        for subject in user_qs.order_by("pk"):
            if subject.pk in held:
                event = StatusEvent.ACTIVATED if subject.is_active else StatusEvent.DEACTIVATED
                result.changes.append(StatusChange(event, subject.get_username(),
                                                   str(subject.pk), held[subject.pk]))
        return result
