"""Daily usage snapshots: one row per product per day, the history behind the charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Max, Min
from django.dispatch import Signal
from django.utils import timezone

from ..conf import DEFAULTS, licensing_settings
from ..dates import site_today
from ..models import LicenseAssignment, LicensedProduct, ProductType, UsageSnapshot
from .base import LicensingAction, StateAccess

ACTIVE_WINDOW_DAYS = 30
""""Active" holders in a snapshot: those who used the product in the last 30 days."""


daily_usage_snapshot_taken = Signal()
"""Sent (with ``day``) once the first licensing read of a day took that day's snapshot: the
daily hook of what else runs once a day (the automatic reclaim of idle seats)."""


def retention_days() -> int:
    value = licensing_settings.USAGE_RETENTION_DAYS
    return value if type(value) is int and value >= 1 else DEFAULTS["USAGE_RETENTION_DAYS"]


@dataclass
class SnapshotResult:
    day: date
    products: list[str] = field(default_factory=list)  # the codes snapshotted
    created: int = 0  # rows new for the day (the rest were refreshed)
    pruned: int = 0  # rows older than USAGE_RETENTION_DAYS deleted


class TakeUsageSnapshotAction(LicensingAction[SnapshotResult]):
    """Write (or refresh) today's usage row of every installed product; prune old rows.

    A constant number of queries, whatever the number of holders: the counters the actions
    keep, one count of recently active holders per product, one of live sessions, one upsert
    and one delete. The peak of concurrent sessions never goes down within a day.

    Taken by whoever makes the first licensing read of a new day (``usage``), so no permission
    is needed; it changes no seat or decision, so no version bump and no audit entry.
    """

    permission_required = False
    state_access = StateAccess.READ

    def __init__(self, *, day: date | None = None, user: Any = None) -> None:
        super().__init__(user=user)
        self.day = day

    def _run(self) -> SnapshotResult:
        day = self.day or site_today()
        result = SnapshotResult(day=day)
        state = self.state
        if not state.demo_mode:
            products = list(LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id).with_usage().order_by("code"))
            codes = [p.code for p in products]
            active = dict(
                LicenseAssignment.objects.filter(product_code__in=codes)
                .active_since(day - timedelta(days=ACTIVE_WINDOW_DAYS))
                .order_by().values_list("product_code").annotate(n=Count("pk")))
            existing = dict(UsageSnapshot.objects.filter(day=day, product_code__in=codes)
                            .values_list("product_code", "peak_sessions"))
            now = timezone.now()
            rows = [UsageSnapshot(
                product_code=p.code, day=day, seats=p.seats, used=p.used, holders=p.holders,
                active_holders_30d=active.get(p.code, 0),
                peak_sessions=max(existing.get(p.code, 0),
                                  p.slots_used if p.type == ProductType.CONCURRENT else 0),
                taken_at=now,
            ) for p in products]
            if rows:
                UsageSnapshot.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["product_code", "day"],
                    update_fields=["seats", "used", "holders", "active_holders_30d",
                                   "peak_sessions", "taken_at"])
            result.products = codes
            result.created = len([c for c in codes if c not in existing])
        cutoff = day - timedelta(days=retention_days())
        result.pruned, _ = UsageSnapshot.objects.filter(day__lt=cutoff).delete()
        return result


def note_concurrent_peak(code: str, in_use: int, day: date | None = None) -> None:
    """A slot of ``code`` was just taken with ``in_use`` sessions now holding one: raise the
    day's peak (one ``UPDATE``; nothing when the day's snapshot is not taken yet, which then
    counts the live sessions itself)."""
    UsageSnapshot.objects.filter(product_code=code, day=day or site_today(),
                                 peak_sessions__lt=in_use).update(peak_sessions=in_use)


SUMMARY_DAYS = 90
"""The window of the usage summary a license request carries."""


def usage_summary(days: int = SUMMARY_DAYS, today: date | None = None) -> dict[str, Any]:
    """Per product, the peak of seats used and of concurrent sessions over the last ``days``
    days of snapshots (today included): what a vendor sizes a renewal on. One query."""
    today = today or site_today()
    start = today - timedelta(days=days - 1)
    rows = (UsageSnapshot.objects.filter(day__gte=start, day__lte=today)
            .order_by("product_code").values("product_code")
            .annotate(peak_used=Max("used"), peak_sessions=Max("peak_sessions"),
                      seats=Max("seats"), days_recorded=Count("pk"), first_day=Min("day")))
    return {
        "days": days,
        "from": start.isoformat(),
        "to": today.isoformat(),
        "products": [{"code": row["product_code"], "peak_used": row["peak_used"],
                      "peak_sessions": row["peak_sessions"], "seats": row["seats"],
                      "days_recorded": row["days_recorded"],
                      "first_day": row["first_day"].isoformat()} for row in rows],
    }
