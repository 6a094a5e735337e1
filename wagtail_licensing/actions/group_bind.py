"""Bind products to a Wagtail group, unbind them, and preview a binding before it is saved."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from ..exceptions import GrantError
from ..models import GroupLicense, LicenseAssignment, LicensedProduct, is_portal_user_expression
from .base import NAMES_LOGGED, LicensingAction, StateAccess, product_codes
from .group_results import (
    GroupBindingPreview,
    GroupEvent,
    GroupLicensesAction,
    GroupLicensesResult,
    group_of,
)
from .group_seats import membership_fields, membership_model, reconcile


class BindGroupLicensesAction(GroupLicensesAction):
    """Bind products to a group (or change the binding's priority) and seat its members at
    once; members left without a seat get a licensing error. Products must be in the
    installed license."""

    def __init__(
        self,
        group: Group | int,
        codes: str | Iterable[str],
        *,
        priority: int | None = None,
        user: Any = None,
    ) -> None:
        super().__init__(user=user)
        self.group = group_of(group)
        self.codes = product_codes(codes)
        self.priority = priority

    def _run(self) -> GroupLicensesResult:
        state = self.state
        if state.demo_mode:
            raise GrantError(
                _(
                    "No license is installed (demo mode), so there is nothing to "
                    "bind. Upload a license file first."
                )
            )
        installed = set(
            LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=self.codes
            ).values_list("code", flat=True)
        )
        result = GroupLicensesResult(GroupEvent.BOUND, groups=[self.group.name])
        existing = {
            b.product_code: b
            for b in GroupLicense.objects.filter(group=self.group, product_code__in=self.codes)
        }
        created = 0
        for code in self.codes:
            if code not in installed:
                result.refused[code] = "not_installed"
                continue
            binding = existing.get(code)
            if binding is None:
                created += 1
                GroupLicense.objects.create(
                    group=self.group,
                    product_code=code,
                    bound_by=self.user,
                    **({} if self.priority is None else {"priority": self.priority}),
                )
                result.bound.append(code)
            elif self.priority is not None and binding.priority != self.priority:
                binding.priority = self.priority
                binding.save(update_fields=["priority"])
                result.bound.append(code)
        result.codes = list(result.bound)
        if created:
            self.count_bindings(created)
        result.changes = reconcile(state.installed_file_id, result.codes, by=self.user)
        return result


class UnbindGroupLicensesAction(GroupLicensesAction):
    """Unbind products from a group: what only that group gave goes (and frees its seats);
    members who hold a product directly or through another group keep it."""

    def __init__(self, group: Group | int, codes: str | Iterable[str], *, user: Any = None) -> None:
        super().__init__(user=user)
        self.group = group_of(group)
        self.codes = product_codes(codes)

    def _run(self) -> GroupLicensesResult:
        result = GroupLicensesResult(GroupEvent.UNBOUND, groups=[self.group.name])
        bindings = GroupLicense.objects.filter(group=self.group, product_code__in=self.codes)
        result.unbound = list(bindings.values_list("product_code", flat=True))
        bindings.delete()
        if result.unbound:
            self.count_bindings(-len(result.unbound))
        result.codes = list(result.unbound)
        result.changes = reconcile(self.state.installed_file_id, result.codes, by=self.user)
        return result


class PreviewGroupBindingAction(LicensingAction[list[GroupBindingPreview]]):
    """What binding ``codes`` to a group would do: seats needed and available, and which
    members would be left without a seat (in seating order: earliest membership first).
    Changes nothing; a constant number of queries per product."""

    state_access = StateAccess.READ

    def __init__(self, group: Group | int, codes: str | Iterable[str], *, user: Any = None) -> None:
        super().__init__(user=user)
        self.group = group_of(group)
        self.codes = product_codes(codes)

    def _run(self) -> list[GroupBindingPreview]:
        User = get_user_model()
        user_field, group_field = membership_fields()
        products = {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=self.state.installed_file_id, code__in=self.codes
            ).with_usage()
        }
        members = (
            membership_model()
            ._default_manager.filter(
                **{f"{group_field}_id": self.group.pk, f"{user_field}__is_active": True}
            )
            .annotate(_portal=is_portal_user_expression(f"{user_field}_id"))
        )
        previews = []
        for code in self.codes:
            product = products.get(code)
            if product is None:
                previews.append(
                    GroupBindingPreview(self.group.name, code, "", False, 0, 0, 0, 0, None, 0)
                )
                continue
            held = Exists(
                LicenseAssignment.objects.filter(
                    user_id=OuterRef(f"{user_field}_id"), product_code=code
                )
            )
            rows = members.annotate(_held=held)
            total = rows.count()
            already = rows.filter(_held=True).count()
            eligible = rows.filter(_held=False, _portal=product.for_portal_users)
            needed = eligible.count()
            ineligible = total - already - needed
            available = product.available if product.counts_seats else None
            left = max(needed - available, 0) if available is not None else 0
            names: list[str] = []
            if left and available is not None:
                names = list(
                    eligible.order_by("pk").values_list(
                        f"{user_field}__{User.USERNAME_FIELD}", flat=True
                    )[available : available + NAMES_LOGGED]
                )
            previews.append(
                GroupBindingPreview(
                    self.group.name,
                    code,
                    product.name,
                    True,
                    total,
                    already,
                    needed,
                    ineligible,
                    available,
                    left,
                    names,
                )
            )
        return previews
