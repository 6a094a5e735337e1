"""Concurrent-license slots: take, touch and end one's own; a manager releases others'.

A user whose admin access comes from a concurrent product holds one slot of it while signed in
(``ConcurrentSession``, keyed by a random token kept in the session; every session of the user
keeps the same token, so that racing requests and other browsers never take a second slot).
Slots are freed at logout (all of the user's), by a license manager, or after
``CONCURRENT_IDLE_MINUTES`` without requests. Taking and releasing one's own slot changes no
other user's access, so only a manager's release bumps the state version (the released
sessions must notice at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import cache
from ..conf import licensing_settings
from ..dates import site_today
from ..exceptions import NoFreeSlot
from ..models import (
    ConcurrentSession,
    LicenseAssignment,
    LicensedProduct,
    ProductType,
    ReleasedSlot,
)
from .base import LicensingAction, StateAccess, product_codes
from .usage import note_concurrent_peak

ACTION_RELEASE = "wagtail_licensing.release"
AFTER_CONCURRENT_SLOTS_RELEASED = "after_concurrent_slots_released"


class _OwnSlotAction(LicensingAction[Any]):
    # The user acts on their own session's slot (signing in, using the admin, signing out):
    # every licensed user does this, not only license managers.
    permission_required = False


class TakeSlotAction(_OwnSlotAction):
    """Give the session ``token`` a slot of the first of ``codes`` with one free, or the slot
    the user already holds.

    A user holds at most one slot per concurrent product: every session of theirs (every
    browser, and the parallel first requests of one session) shares it, under its token. Under
    the licensing lock, so that racing logins never take more slots than a product has; the
    database refuses a second slot of a product for one user too (``UniqueConstraint``), so
    that not even a racer the lock does not serialise (SQLite) takes one. Frees idle slots and
    slots of users who no longer hold the product first. Raises ``NoFreeSlot`` (its message
    names the products) when every slot is taken.
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
        ConcurrentSession.objects.idle(now).delete()
        ConcurrentSession.objects.filter(product_code__in=codes).exclude(Exists(
            LicenseAssignment.objects.with_seat().filter(
                user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))).delete()
        usable = [code for code in codes if code in products and code in held]
        # The token's row, unless it is the user's slot of a product still usable, is replaced.
        ConcurrentSession.objects.filter(session_key=token).exclude(
            user_id=self.subject.pk, product_code__in=usable).delete()
        own = self._own_slot(usable, now)
        if own is not None:
            return own
        used = dict(ConcurrentSession.objects.filter(product_code__in=codes).order_by()
                    .values_list("product_code").annotate(n=Count("pk")))
        full = []
        for code in usable:
            product = products[code]
            if product.seats is None or used.get(code, 0) < product.seats:
                try:
                    with transaction.atomic():
                        session = ConcurrentSession.objects.create(
                            user_id=self.subject.pk, product_code=code, session_key=token,
                            started_at=now, last_seen=now)
                except IntegrityError:
                    # A racer of the same user took it first: share theirs.
                    own = self._own_slot([code], now)
                    if own is None:
                        raise
                    return own
                note_concurrent_peak(code, used.get(code, 0) + 1, today)
                return session
            full.append(product)
        if not full:
            raise NoFreeSlot(_("Your account holds no valid concurrent license."))
        raise NoFreeSlot(_all_slots_taken(full))

    def _own_slot(self, codes: Sequence[str], now: datetime) -> ConcurrentSession | None:
        """The slot the user holds of the first of ``codes``, refreshed, or None."""
        if not codes:
            return None
        mine = {slot.product_code: slot for slot in ConcurrentSession.objects.filter(
            user_id=self.subject.pk, product_code__in=codes)}
        for code in codes:
            slot = mine.get(code)
            if slot is not None:
                ConcurrentSession.objects.filter(pk=slot.pk).update(last_seen=now)
                slot.last_seen = now
                return slot
        return None


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
    """A session of ``subject`` signed out: free its slot and every other slot of the user
    (their sessions share one slot per product; another signed-in browser of theirs takes a
    slot again on its next request). Routine, so not written to the audit log. Returns the
    tokens of the freed slots (their cached confirmations are dropped)."""

    state_access = StateAccess.NONE
    atomic = False

    def __init__(self, token: str | None, *, subject: Any = None) -> None:
        super().__init__()
        self.token = token
        self.subject_pk = getattr(subject, "pk", None)

    def _run(self) -> list[str]:
        match = Q(session_key=self.token) if self.token else Q()
        if self.subject_pk is not None:
            match |= Q(user_id=self.subject_pk)
        if not match:
            return []
        slots = ConcurrentSession.objects.filter(match)
        tokens = list(slots.values_list("session_key", flat=True))
        if tokens:
            ConcurrentSession.objects.filter(session_key__in=tokens).delete()
        return tokens


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
        # Marked in the database, with the release: every process, whatever its cache, signs
        # the released sessions out (``enforcement.sessions.ensure_slot``).
        ReleasedSlot.objects.expired().delete()
        ReleasedSlot.objects.bulk_create(
            [ReleasedSlot(session_key=token) for token, _name, _code in rows],
            ignore_conflicts=True)
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
