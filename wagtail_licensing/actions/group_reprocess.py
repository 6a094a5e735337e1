"""Reprocess group licenses (Entra's "Reprocess"): per group, per user or everything.

Seats are given again in the deterministic order (group priority, then earliest membership),
errors that can be resolved are, and what remains is reported. Installs and recalls run the
same reconciliation (``group_seats.reconcile``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from ..models import GroupLicense
from .base import user_queryset
from .group_results import GroupEvent, GroupLicensesAction, GroupLicensesResult, group_of
from .group_seats import bindings_by_code, reconcile


class ReprocessGroupLicensesAction(GroupLicensesAction):
    """``group``: the products bound to it (for every holder, since members of other groups
    compete for the same seats); ``users``: every bound product, for those users only; neither:
    everything. ``remove_manual`` (with ``group``): the members' direct grants of the group's
    products become inherited, so leaving the group frees them (Creatio's "remove manually
    granted licenses"); by default they are kept."""

    def __init__(
        self,
        *,
        group: Group | int | None = None,
        users: Any = None,
        remove_manual: bool = False,
        user: Any = None,
    ) -> None:
        super().__init__(user=user)
        self.group = None if group is None else group_of(group)
        self.users = users
        self.remove_manual = remove_manual and self.group is not None

    def _run(self) -> GroupLicensesResult:
        if self.group is not None:
            codes = list(
                GroupLicense.objects.filter(group=self.group)
                .order_by("product_code")
                .values_list("product_code", flat=True)
            )
            groups = [self.group.name]
        else:
            codes = sorted(bindings_by_code())
            groups = []
            self.recount_bindings()  # reprocessing everything also repairs the count
        users = None if self.users is None else user_queryset(self.users)
        result = GroupLicensesResult(GroupEvent.REPROCESSED, groups=groups, codes=codes)
        result.changes = reconcile(
            self.state.installed_file_id,
            codes,
            users=users,
            by=self.user,
            remove_manual_for=self.group.pk if self.remove_manual and self.group else None,
        )
        return result

    def log_data(self, result: GroupLicensesResult) -> dict[str, Any]:
        return {**super().log_data(result), "remove_manual": self.remove_manual}

    def logs(self, result: GroupLicensesResult) -> bool:
        return True  # a reprocess asked for by a manager is audited even when nothing moved
