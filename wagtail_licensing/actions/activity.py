"""Last activity: the day a holder last used the products their license covers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Q

from ..dates import site_today
from ..models import LicenseAssignment
from .base import LicensingAction, StateAccess, product_codes


class RecordActivityAction(LicensingAction[int]):
    """Record that ``subject`` used ``codes`` on ``day``; the number of assignments updated.

    Every licensed user triggers it on their own account (their first request of the day), so
    no permission is needed. One ``UPDATE``, no lock, no transaction and no audit entry: it is
    not licensing state (no seat, decision or counter depends on it), and it runs on the
    request path (``enforcement.activity`` decides when).
    """

    permission_required = False
    state_access = StateAccess.NONE
    atomic = False

    def __init__(self, subject: Any, codes: str | Iterable[str], *,
                 day: date | None = None) -> None:
        super().__init__(user=subject)
        self.subject_pk = getattr(subject, "pk", subject)
        self.codes = product_codes(codes)
        self.day = day

    def _run(self) -> int:
        if not self.codes:
            return 0
        day = self.day or site_today()
        return LicenseAssignment.objects.filter(
            Q(last_active_on__isnull=True) | Q(last_active_on__lt=day),
            user_id=self.subject_pk, product_code__in=self.codes,
        ).update(last_active_on=day)
