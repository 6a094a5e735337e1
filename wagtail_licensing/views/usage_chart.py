"""Usage charts drawn on the server: the daily snapshots as SVG, with the same data as a table.

No chart library reaches the browser: the chart is an ``<svg>`` whose lines take Wagtail's admin
colours through CSS classes (``license-manager.css``), and the data table behind it is for
screen readers and for anyone who would rather read the numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..dates import site_today
from ..models import LicensedProduct, ProductType, UsageSnapshot

RANGES = {"90": (90, gettext_lazy("Last 90 days")), "365": (365, gettext_lazy("Last year"))}
DEFAULT_RANGE = "90"
TREND_DAYS = 30

# The drawing area, in SVG units (the SVG scales to its container).
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
SPARK_WIDTH, SPARK_HEIGHT = 100, 24


@dataclass
class Series:
    name: str
    css: str  # wl-chart__line--{css}
    values: dict[date, int | None]
    segments: list[str] = field(default_factory=list)  # SVG "points" of each unbroken run


@dataclass
class Chart:
    title: str
    days: list[date]
    series: list[Series]
    rows: list[dict[str, Any]]  # the data table, newest first
    y_max: int
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM
    top: int = TOP

    @property
    def empty(self) -> bool:
        return not self.rows


def _x(index: int, count: int, left: float, width: float) -> float:
    return round(left + (width * index / max(count - 1, 1)), 1)


def _y(value: int, y_max: int, top: float, height: float) -> float:
    return round(top + height - height * value / max(y_max, 1), 1)


def _segments(days: Sequence[date], values: dict[date, int | None], y_max: int, *,
              left: float, width: float, top: float, height: float) -> list[str]:
    """The line through each run of days that have a value: a day without a snapshot breaks
    the line rather than drawing a slope nobody measured."""
    runs: list[list[str]] = [[]]
    for index, day in enumerate(days):
        value = values.get(day)
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{_x(index, len(days), left, width)},"
                        f"{_y(value, y_max, top, height)}")
    # A run of one day would draw nothing: repeat its point as a dot-sized segment.
    return [" ".join(run * (2 if len(run) == 1 else 1)) for run in runs if run]


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    step = 10 ** (len(str(value)) - 1)
    return -(-value // (step // 2 or 1)) * (step // 2 or 1)


def product_chart(product: LicensedProduct, range_key: str = DEFAULT_RANGE,
                  today: date | None = None) -> Chart:
    """Seats used against seats over the range, with peak sessions for concurrent products.
    One query (at most one row per day)."""
    days_back, label = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    today = today or site_today()
    days = [today - timedelta(days=n) for n in range(days_back - 1, -1, -1)]
    snapshots = list(UsageSnapshot.objects.filter(
        product_code=product.code, day__gte=days[0], day__lte=today).order_by("day"))
    concurrent = product.type == ProductType.CONCURRENT
    seats = {s.day: s.seats for s in snapshots}
    series = [Series(_("Seats used"), "used", {s.day: s.used for s in snapshots})]
    if concurrent:
        series.append(Series(_("Peak concurrent sessions"), "peak",
                             {s.day: s.peak_sessions for s in snapshots}))
    if any(v is not None for v in seats.values()):
        series.append(Series(_("Seats"), "seats", seats))
    peak = max((v for s in series for v in s.values.values() if v is not None), default=0)
    y_max = _nice_max(peak)
    height = HEIGHT - TOP - BOTTOM
    width = WIDTH - LEFT - RIGHT
    for s in series:
        s.segments = _segments(days, s.values, y_max, left=LEFT, width=width, top=TOP,
                               height=height)
    ticks = sorted({0, y_max // 2, y_max})
    x_ticks = [(_x(i, len(days), LEFT, width), date_format(days[i], "M j"))
               for i in (0, len(days) // 2, len(days) - 1)]
    rows = [{"day": s.day, "seats": s.seats, "used": s.used, "holders": s.holders,
             "active": s.active_holders_30d, "peak": s.peak_sessions}
            for s in reversed(snapshots)]
    return Chart(
        title=_("%(product)s: usage, %(range)s") % {"product": product.name,
                                                     "range": str(label).lower()},
        days=days, series=series, rows=rows, y_max=y_max,
        y_ticks=[(_y(t, y_max, TOP, height), t) for t in ticks], x_ticks=x_ticks)


@dataclass
class Trend:
    segments: list[str]
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def trends(products: Iterable[LicensedProduct], today: date | None = None) -> dict[str, Trend]:
    """A sparkline per product of the last 30 days' seats used (peak sessions for concurrent
    products), for the License manager. One query for every product."""
    products = list(products)
    today = today or site_today()
    start = today - timedelta(days=TREND_DAYS - 1)
    days = [start + timedelta(days=n) for n in range(TREND_DAYS)]
    concurrent = {p.code for p in products if p.type == ProductType.CONCURRENT}
    values: dict[str, dict[date, int | None]] = defaultdict(dict)
    for code, day, used, peak in UsageSnapshot.objects.filter(
            product_code__in=[p.code for p in products], day__gte=start, day__lte=today
    ).values_list("product_code", "day", "used", "peak_sessions"):
        values[code][day] = peak if code in concurrent else used
    out = {}
    for code, by_day in values.items():
        numbers = [v for v in by_day.values() if v is not None]
        y_max = max([*numbers, 1])
        segments = _segments(days, by_day, y_max, left=1, width=SPARK_WIDTH - 2, top=2,
                             height=SPARK_HEIGHT - 4)
        low, high = min(numbers), max(numbers)
        label = (_("Last 30 days: peak sessions from %(low)d to %(high)d") if code in concurrent
                 else _("Last 30 days: seats used from %(low)d to %(high)d")) % {
            "low": low, "high": high}
        out[code] = Trend(segments=segments, label=label)
    return out
