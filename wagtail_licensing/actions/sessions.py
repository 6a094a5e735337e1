"""Concurrent-license slots: take, touch and end one's own; a manager releases others'.

A user whose admin access comes from a concurrent product holds a slot per signed-in session
(``ConcurrentSession``, keyed by a random token kept in the session). Slots are freed at
logout, by a license manager, or after ``CONCURRENT_IDLE_MINUTES`` without requests. Taking
and releasing one's own slot changes no other user's access, so only a manager's release
bumps the state version (the released session must notice at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import cache
from ..conf import licensing_settings
from ..dates import site_today
from ..exceptions import NoFreeSlot
from ..models import ConcurrentSession, LicenseAssignment, LicensedProduct, ProductType
from .base import LicensingAction, StateAccess, product_codes
from .usage import note_concurrent_peak

ACTION_RELEASE = "wagtail_licensing.release"
AFTER_CONCURRENT_SLOTS_RELEASED = "after_concurrent_slots_released"


class _OwnSlotAction(LicensingAction[Any]):
    # The user acts on their own session's slot (signing in, using the admin, signing out):
    # every licensed user does this, not only license managers.
    permission_required = False


class TakeSlotAction(_OwnSlotAction):
    """Give the session ``token`` a slot of the first of ``codes`` with one free.

    Under the licensing lock, so that racing logins never take more slots than a product has.
    Frees idle slots and slots of users who no longer hold the product first. Raises
    ``NoFreeSlot`` (its message names the products) when every slot is taken.
    """

    def __init__(self, subject: Any, codes: str | Iterable[str], *, token: str,
                 now: datetime | None = None) -> None:
        super().__init__(user=subject)
        self.subject = subject
        self.codes = product_codes(codes)
        self.token = token
        self.now = now

    def _run(self) -> ConcurrentSession:
        codes, token = self.codes, self.token
        now = self.now or timezone.now()
        state = self.state
        if state.demo_mode or not codes:
            raise NoFreeSlot(_("No concurrent license is installed for your account."))
        today = site_today()
        grace = timedelta(days=licensing_settings.GRACE_DAYS)
        products = {
            p.code: p for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes,
                type=ProductType.CONCURRENT)
            if p.valid_from <= today <= p.valid_until + grace
        }
        held = set(LicenseAssignment.objects.with_seat().filter(
            user_id=self.subject.pk, product_code__in=codes,
        ).values_list("product_code", flat=True))
        (ConcurrentSession.objects.idle(now)
         | ConcurrentSession.objects.filter(session_key=token)).delete()
        ConcurrentSession.objects.filter(product_code__in=codes).exclude(Exists(
            LicenseAssignment.objects.with_seat().filter(
                user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))).delete()
        used = dict(ConcurrentSession.objects.filter(product_code__in=codes).order_by()
                    .values_list("product_code").annotate(n=Count("pk")))
        full = []
        for code in codes:
            product = products.get(code)
            if product is None or code not in held:
                continue
            if product.seats is None or used.get(code, 0) < product.seats:
                session = ConcurrentSession.objects.create(
                    user_id=self.subject.pk, product_code=code, session_key=token,
                    started_at=now, last_seen=now)
                note_concurrent_peak(code, used.get(code, 0) + 1, today)
                return session
            full.append(product)
        if not full:
            raise NoFreeSlot(_("Your account holds no valid concurrent license."))
        raise NoFreeSlot(_all_slots_taken(full))


def _all_slots_taken(products: Sequence[LicensedProduct]) -> str:
    labels = get_text_list([f"{p.name}" for p in products], _("and"))
    seats = sum(p.seats or 0 for p in products)
    return ngettext(
        "All %(seats)d concurrent license of %(products)s is in use, so you cannot sign in "
        "now. Try again when someone signs out, or ask a license manager to release a slot.",
        "All %(seats)d concurrent licenses of %(products)s are in use, so you cannot sign in "
        "now. Try again when someone signs out, or ask a license manager to release a slot.",
        seats,
    ) % {"seats": seats, "products": labels}


class TouchSlotAction(_OwnSlotAction):
    """Record that the session ``token`` is still in use; the code of its slot, or None when
    the slot is gone (idle, released, or no longer one of ``codes``). Two queries, no lock and
    no transaction: it runs about once a minute per signed-in concurrent user."""

    state_access = StateAccess.NONE
    atomic = False

    def __init__(self, token: str, *, user: Any, codes: str | Iterable[str],
                 now: datetime | None = None) -> None:
        super().__init__(user=user)
        self.subject = user
        self.token = token
        self.codes = product_codes(codes)
        self.now = now

    def _run(self) -> str | None:
        now = self.now or timezone.now()
        slot = ConcurrentSession.objects.live(now).filter(
            session_key=self.token, user_id=self.subject.pk, product_code__in=self.codes,
        ).values_list("pk", "product_code").first()
        if slot is None:
            return None
        ConcurrentSession.objects.filter(pk=slot[0]).update(last_seen=now)
        return slot[1]


class EndSessionAction(_OwnSlotAction):
    """The session signed out: free its slot (routine, so not written to the audit log). One
    statement, so no lock and no transaction."""

    state_access = StateAccess.NONE
    atomic = False

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def _run(self) -> None:
        if self.token:
            ConcurrentSession.objects.filter(session_key=self.token).delete()


@dataclass
class ReleaseResult:
    """The released sessions, as ``(username, product code)`` pairs."""

    released: list[tuple[str, str]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.released)


class ReleaseSlotsAction(LicensingAction[ReleaseResult]):
    """A license manager releases slots: their sessions lose admin access on their next
    request. ``sessions`` are ``ConcurrentSession`` objects or primary keys."""

    log_action = ACTION_RELEASE

    def __init__(self, sessions: Iterable[Any], *, user: Any = None) -> None:
        super().__init__(user=user)
        self.pks = [getattr(s, "pk", s) for s in sessions]

    def _run(self) -> ReleaseResult:
        User = get_user_model()
        rows = list(ConcurrentSession.objects.filter(pk__in=self.pks).order_by("pk")
                    .values_list("session_key", f"user__{User.USERNAME_FIELD}", "product_code"))
        if not rows:
            return ReleaseResult()
        ConcurrentSession.objects.filter(pk__in=self.pks).delete()
        return ReleaseResult(released=[(name, code) for _token, name, code in rows],
                             tokens=[token for token, _name, _code in rows])

    def log_data(self, result: ReleaseResult) -> dict[str, Any]:
        return {"released": [{"user": name, "product": code} for name, code in result.released]}

    def hooks(self, result: ReleaseResult) -> list[tuple[str, dict[str, Any]]]:
        if not result.changed:
            return []
        return [(AFTER_CONCURRENT_SLOTS_RELEASED, {"released": result.released})]

    def on_commit(self, result: ReleaseResult) -> list[Callable[[], None]]:
        if not result.changed:
            return []
        tokens = result.tokens
        return [lambda: cache.mark_released(tokens)]
