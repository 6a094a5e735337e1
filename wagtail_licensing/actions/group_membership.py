"""Members follow their groups: joining a bound group grants its products, leaving it removes
what only that group gave (``m2m_changed`` on the user model's groups, ``enforcement.signals``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group

from .base import user_queryset
from .group_results import GroupEvent, GroupLicensesAction, GroupLicensesResult
from .group_seats import reconcile


class GroupMembershipChangedAction(GroupLicensesAction):
    """Reconcile ``codes`` (those bound to the groups that changed) for ``users`` (None: every
    member, after ``group.user_set.clear()``). A constant number of queries per product,
    however many users joined or left."""

    # Not a licensing decision but its consequence, like seats following a deactivation:
    # whoever may change a user's groups (a user admin, an SSO sync with no user at all)
    # moves the seats those groups give, or the members would hold what their groups no
    # longer give them.
    permission_required = False

    def __init__(
        self,
        users: Any,
        codes: Iterable[str],
        *,
        groups: Iterable[Any] = (),
        group_names: Iterable[str] | None = None,
        user: Any = None,
    ) -> None:
        super().__init__(user=user)
        self.users = users
        self.codes = list(dict.fromkeys(codes))
        self.groups = list(groups)
        # The names when the groups are gone already (a deleted group's, from its signal).
        self.group_names = None if group_names is None else list(group_names)

    def _run(self) -> GroupLicensesResult:
        names = self.group_names
        if names is None:
            names = list(
                Group.objects.filter(
                    pk__in=[getattr(g, "pk", g) for g in self.groups]
                ).values_list("name", flat=True)
            )
        if self.group_names is not None:  # a group was deleted, and its bindings with it
            self.count_bindings(-len(self.codes))
        result = GroupLicensesResult(GroupEvent.MEMBERSHIP, groups=names, codes=self.codes)
        users = None if self.users is None else user_queryset(self.users)
        result.changes = reconcile(
            self.state.installed_file_id, self.codes, users=users, by=self.user
        )
        return result
