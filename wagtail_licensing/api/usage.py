"""Usage history and idle seats through the API: the daily snapshots behind the admin's
charts, and the holders the License usage report lists as idle. Read-only: a read-only token
may call them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from .. import operations
from ..actions.idle import SAMPLE_SIZE, idle_days
from ..dates import site_today
from ..models import UsageSnapshot
from . import openapi, serializers
from .openapi import extend_schema
from .views import COMMON_ERRORS, AssignmentPagination, LicensingAPIView


def snapshot_data(snapshot: UsageSnapshot) -> dict[str, Any]:
    return {
        "product": snapshot.product_code,
        "day": snapshot.day,
        "seats": snapshot.seats,
        "used": snapshot.used,
        "holders": snapshot.holders,
        "active_holders_30d": snapshot.active_holders_30d,
        "peak_sessions": snapshot.peak_sessions,
    }


class UsageHistoryView(LicensingAPIView):
    """One row per product and day (``USAGE_RETENTION_DAYS`` are kept), oldest first, a page
    at a time: one query for the count and one for the page."""

    pagination_class = AssignmentPagination

    @extend_schema(
        parameters=[serializers.UsageFilterSerializer],
        responses={
            200: serializers.UsageSnapshotSerializer(many=True),
            **COMMON_ERRORS,
            400: openapi.problem("A filter is not valid."),
            404: openapi.problem("No such page."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = serializers.UsageFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise exceptions.ValidationError(
                {"start": [_("The first day comes after the last day.")]}
            )
        rows = UsageSnapshot.objects.all()
        if "product" in data:
            rows = rows.filter(product_code=data["product"])
        if "start" in data:
            rows = rows.filter(day__gte=data["start"])
        if "end" in data:
            rows = rows.filter(day__lte=data["end"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            rows.order_by("product_code", "day", "pk"), request, view=self
        )
        return paginator.get_paginated_response([snapshot_data(s) for s in page or []])


class IdleSeatsView(LicensingAPIView):
    """Per product, the holders who have not used it for ``days`` (default ``IDLE_DAYS``):
    how many, the seats recalling them would free, and the first usernames. What the License
    usage report and "Recall idle seats" show; nothing is recalled."""

    @extend_schema(
        parameters=[serializers.IdleFilterSerializer],
        responses={
            200: serializers.IdleSeatsSerializer,
            **COMMON_ERRORS,
            400: openapi.problem("A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = serializers.IdleFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        days = data.get("days") or idle_days()
        codes = [data["product"]] if "product" in data else None
        products = operations.idle_seats(days, product_codes=codes, sample=SAMPLE_SIZE)
        return Response(
            {
                "days": days,
                "idle_since": site_today() - timedelta(days=days),
                "products": [
                    {
                        "code": p.code,
                        "name": p.name,
                        "holders": p.holders,
                        "seats_freed": p.seats_freed,
                        "usernames": p.names,
                        "more": p.more,
                    }
                    for p in products
                ],
            }
        )
