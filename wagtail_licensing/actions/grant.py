"""Grant products to users under the seat rules (docs: "Seat rules")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from ..dates import site_today
from ..exceptions import GrantError
from ..models import (
    AssignmentSource,
    Ineligibility,
    LicenseAssignment,
    LicensedProduct,
    ProductType,
    is_portal_user_expression,
)
from .base import NAMES_LOGGED, LicensingAction, product_codes, user_queryset
from .results import AFTER_LICENSES_GRANTED, GrantRefusal, GrantRefusalReason, GrantResult
from .seats import insert_assignments

ACTION_GRANT = "wagtail_licensing.grant"


class GrantAction(LicensingAction[GrantResult]):
    """All-or-nothing per product: a product without enough seats for every user newly granted
    it is refused (with the seats needed and available) while the other products are granted.
    Users already holding a product are skipped; users the product's eligibility rule excludes
    (inactive, portal type) are skipped. A constant number of queries per product, however
    many users are selected."""

    log_action = ACTION_GRANT

    def __init__(self, users: Any, codes: str | Iterable[str], *, user: Any = None,
                 source: AssignmentSource = AssignmentSource.MANUAL,
                 today: date | None = None) -> None:
        super().__init__(user=user)
        self.users = users
        self.codes = product_codes(codes)
        self.source = source
        self.today = today

    def _run(self) -> GrantResult:
        state = self.state
        if state.demo_mode:
            raise GrantError(_("No license is installed (demo mode), so there is nothing to "
                               "grant. Upload a license file first."))
        codes = self.codes
        today = self.today or site_today()
        result = GrantResult()
        User = get_user_model()
        products = {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes
            ).with_usage()
        }
        user_qs = user_queryset(self.users)
        rows = list(
            user_qs.annotate(_portal=is_portal_user_expression()).values_list(
                "pk", User.USERNAME_FIELD, "is_active", "_portal"
            )
        )
        held = dict(
            ((user_id, code), direct)
            for user_id, code, direct in LicenseAssignment.objects.filter(
                user_id__in=user_qs.values("pk"), product_code__in=codes
            ).values_list("user_id", "product_code", "direct")
        )
        result.inactive = [name for _pk, name, active, _p in rows if not active]
        now = timezone.now()
        for code in codes:
            product = products.get(code)
            if product is None:
                result.refused[code] = GrantRefusal(GrantRefusalReason.NOT_INSTALLED, code)
                continue
            result.names[code] = product.name
            result.types[code] = ProductType(product.type)
            if not product.is_grantable_on(today):
                result.refused[code] = GrantRefusal(
                    GrantRefusalReason.NOT_GRANTABLE, code, product.name,
                    valid_from=product.valid_from, valid_until=product.valid_until)
                continue
            new, already, wrong, inherited, inherited_pks = [], [], [], [], []
            for pk, name, active, portal in rows:
                problem = product.ineligibility(is_active=active, is_portal=bool(portal))
                if problem is Ineligibility.INACTIVE:
                    continue  # reported once, in result.inactive
                if problem is not None:
                    wrong.append(name)
                elif (pk, code) in held:
                    if held[pk, code]:
                        already.append(name)
                    else:  # held through a group: now held directly too, the same one seat
                        inherited.append(name)
                        inherited_pks.append(pk)
                else:
                    new.append(name)
            result.already[code] = already
            if inherited:
                LicenseAssignment.objects.filter(
                    user_id__in=user_qs.filter(pk__in=inherited_pks).values("pk"),
                    product_code=code).update(direct=True)
                result.via_group[code] = inherited
            result.wrong_type[code] = wrong
            available = product.available
            if product.counts_seats and available is not None and len(new) > available:
                result.refused[code] = GrantRefusal(
                    GrantRefusalReason.NOT_ENOUGH_SEATS, code, product.name,
                    needed=len(new), available=available, seats=product.seats)
                continue
            if new:
                inserted = insert_assignments(user_qs, product, self.user, self.source, now)
                if inserted != len(new):  # pragma: no cover - the lock makes this impossible
                    raise GrantError(_("The users changed while licenses were granted. "
                                       "Nothing was changed; try again."))
            result.granted[code] = new
        return result

    def log_data(self, result: GrantResult) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "granted": {code: {"count": len(names), "users": names[:NAMES_LOGGED]}
                        for code, names in result.granted.items() if names},
            "refused": {code: str(refusal.reason) for code, refusal in result.refused.items()},
        }

    def hooks(self, result: GrantResult) -> list[tuple[str, dict[str, Any]]]:
        if not result.changed:
            return []
        return [(AFTER_LICENSES_GRANTED, {"result": result})]
