"""The endpoints. Each checks CanManageLicUsers through the registered policy (read-only tokens
only read), reads the kept counters and ``rules.status`` through ``status``, and changes
licenses only through ``operations`` (the actions: lock, seat rules, audit entry, hooks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import status as http
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import group_status, operations, wording
from ..actions.results import GrantRefusalReason, GrantResult, RecallResult
from ..conf import licensing_settings
from ..dates import site_today
from ..models import (
    AssignmentSource,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    ProductType,
    held_source_of,
)
from ..rules.status import ProductFacts, ProductStatus, site_alerts
from ..status import installed_products, product_summary
from . import metrics, openapi, problems, serializers
from .authentication import ApiTokenAuthentication
from .openapi import extend_schema
from .permissions import CanManageLicenses

# The worst status among the installed products is the license's (rules.status precedence).
STATUS_PRECEDENCE = list(ProductStatus)


class LicensingAPIView(APIView):
    """What every endpoint shares: authentication (a token first, so that a request without
    credentials is answered 401), the permission, JSON only, and problem details."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [CanManageLicenses]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    if openapi.AutoSchema is not None:
        schema = openapi.AutoSchema()

    def get_exception_handler(self) -> Any:
        return problems.exception_handler


COMMON_ERRORS = {
    401: openapi.problem("No credentials, or an invalid or revoked token."),
    403: openapi.problem("No CanManageLicUsers, or a read-only token that tried to write."),
}


def alert_data(alerts: Iterable[Any]) -> list[dict[str, str]]:
    return [{"kind": str(alert.kind), "level": str(alert.level), "message": alert.message}
            for alert in alerts]


def product_data(product: LicensedProduct, day: Any) -> dict[str, Any]:
    summary = product_summary(product, day)
    summary["days_until_expiry"] = ProductFacts.of(product).days_left(day)
    return summary


def find_users(refs: Sequence[str | int]) -> tuple[dict[str | int, int], list[str | int]]:
    """Users by username (strings) or id (integers), in one query: ``{ref: pk}`` and the
    references that name nobody."""
    User = get_user_model()
    field = User.USERNAME_FIELD
    names = [ref for ref in refs if isinstance(ref, str)]
    ids = [ref for ref in refs if isinstance(ref, int)]
    found: dict[str | int, int] = {}
    for pk, name in User._default_manager.filter(
            Q(**{f"{field}__in": names}) | Q(pk__in=ids)).values_list("pk", field):
        found[name] = pk
        found[pk] = pk
    unknown = [ref for ref in dict.fromkeys(refs) if ref not in found]
    return {ref: found[ref] for ref in refs if ref in found}, unknown


def find_user(ref: str) -> Any:
    """One user by username, or by id when no username matches; 404 otherwise."""
    User = get_user_model()
    lookup = Q(**{User.USERNAME_FIELD: ref})
    if ref.isascii() and ref.isdigit() and 0 < int(ref) <= serializers.MAX_ID:
        lookup |= Q(pk=int(ref))
    users = []
    if "\x00" not in ref:  # names nobody (and PostgreSQL refuses it in a query)
        users = sorted(User._default_manager.filter(lookup)[:2],
                       key=lambda u: u.get_username() != ref)  # the username first
    if not users:
        raise problems.not_found(_("There is no user %(user)s.") % {"user": ref},
                                 unknown_users=[ref])
    return users[0]


class LicenseView(LicensingAPIView):
    """The installed license: file, company, instance, status, days until expiry, alerts, and
    every product's seats (GitHub Enterprise's license endpoint, where it fits)."""

    @extend_schema(responses={200: serializers.LicenseSerializer, **COMMON_ERRORS})
    def get(self, request: Request) -> Response:
        state = LicensingState.get_with_installed_file()
        installed = state.installed_file
        day = site_today()
        products = list(installed_products(state))
        facts = [ProductFacts.of(product) for product in products]
        demo = installed is None
        alerts = site_alerts(facts, day, demo=demo,
                             deleted=demo and state.licenses_deleted())
        statuses = [product.status for product in products]
        counted = [p for p in products if p.type != ProductType.CONCURRENT]
        unlimited = any(p.seats is None for p in counted)
        return Response({
            "company_id": installed.company_id if installed else licensing_settings.COMPANY_ID,
            "instance_id": str(state.instance_id),
            "demo_mode": demo,
            "installed_file": None if installed is None else {
                "license_id": installed.license_id,
                "license_version": installed.license_version,
                "filename": installed.filename,
                "issued_at": installed.issued_at,
                "installed_at": installed.installed_at,
                "installed_by": installed.installed_by.get_username()
                if installed.installed_by else None,
            },
            "status": str(min(statuses, key=STATUS_PRECEDENCE.index)) if statuses else None,
            "days_until_expiry": min((f.days_left(day) for f in facts), default=None),
            "seats": None if unlimited else sum(p.seats or 0 for p in counted),
            "seats_used": sum(p.in_use for p in counted),
            "seats_available": None if unlimited else sum(p.available or 0 for p in counted),
            "alerts": alert_data(alerts),
            "products": [product_data(product, day) for product in products],
        })


class ProductListView(LicensingAPIView):
    """The installed products with their seats, use, dates and status."""

    @extend_schema(responses={200: serializers.ProductSerializer(many=True), **COMMON_ERRORS})
    def get(self, request: Request) -> Response:
        day = site_today()
        return Response([product_data(product, day) for product in installed_products()])


class ProductDetailView(LicensingAPIView):
    @extend_schema(responses={200: serializers.ProductSerializer, **COMMON_ERRORS,
                              404: openapi.problem("No installed product has this code.")})
    def get(self, request: Request, code: str) -> Response:
        product = None if "\x00" in code else installed_products().filter(code=code).first()
        if product is None:
            raise problems.not_found(
                _("%(code)s is not a product of the installed license.") % {"code": code},
                unknown_products=[code])
        return Response(product_data(product, site_today()))


class AssignmentPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def held_data(assignment: LicenseAssignment,
              groups: dict[tuple[int, str], list[str]]) -> dict[str, Any]:
    """Where it is held from: ``groups`` as ``group_status.groups_held_through`` answers for
    its page."""
    names = groups.get((assignment.user_id, assignment.product_code), [])
    return {"held": held_source_of(assignment.direct, bool(names)), "groups": names}


def assignment_data(assignment: LicenseAssignment,
                    groups: dict[tuple[int, str], list[str]]) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "user": {"id": assignment.user_id, "username": assignment.user.get_username()},
        "product": assignment.product_code,
        "has_seat": assignment.has_seat,
        "granted_at": assignment.granted_at,
        "granted_by": assignment.granted_by.get_username() if assignment.granted_by else None,
        "source": assignment.source,
        **held_data(assignment, groups),
    }


class AssignmentListView(LicensingAPIView):
    """Who holds what, a page at a time (three queries a page, whatever the number: the
    count, the page, the groups it is held through)."""

    pagination_class = AssignmentPagination

    def get_queryset(self, request: Request) -> QuerySet[LicenseAssignment]:
        filters = serializers.AssignmentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        assignments = LicenseAssignment.objects.all()
        if "held" in data:
            assignments = assignments.held(data["held"])
        if "product" in data:
            assignments = assignments.filter(product_code=data["product"])
        if "user" in data:
            assignments = assignments.filter(user=find_user(data["user"]))
        if "source" in data:
            assignments = assignments.filter(source=data["source"])
        return assignments.select_related("user", "granted_by").order_by(
            "product_code", "granted_at", "id")

    @extend_schema(
        parameters=[serializers.AssignmentFilterSerializer],
        responses={200: serializers.AssignmentSerializer(many=True), **COMMON_ERRORS,
                   400: openapi.problem("A filter is not valid."),
                   404: openapi.problem("No such user, or no such page.")})
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(self.get_queryset(request), request, view=self) or []
        groups = group_status.groups_held_through(page)
        return paginator.get_paginated_response(
            [assignment_data(assignment, groups) for assignment in page])


class UserLicensesView(LicensingAPIView):
    """One user's licenses (by username, or by id when no username matches)."""

    @extend_schema(responses={200: serializers.UserLicensesSerializer, **COMMON_ERRORS,
                              404: openapi.problem("No such user.")})
    def get(self, request: Request, user: str) -> Response:
        subject = find_user(user)
        products = {product.code: product for product in installed_products()}
        licenses = []
        assignments = list(LicenseAssignment.objects.filter(user=subject).order_by(
            "product_code"))
        groups = group_status.groups_held_through(assignments)
        for assignment in assignments:
            product = products.get(assignment.product_code)
            licenses.append({
                "product": assignment.product_code,
                "name": product.name if product else None,
                "type": product.type if product else None,
                "installed": product is not None,
                "has_seat": assignment.has_seat,
                "granted_at": assignment.granted_at,
                "source": assignment.source,
                **held_data(assignment, groups),
                "state": str(product.status) if product else None,
            })
        return Response({
            "user": {"id": subject.pk, "username": subject.get_username()},
            "is_active": subject.is_active,
            "licenses": licenses,
        })


def messages_data(messages: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"level": level, "text": text} for level, text in messages]


def grant_data(result: GrantResult, codes: Iterable[str]) -> dict[str, Any]:
    products: dict[str, Any] = {}
    for code in codes:
        refusal = result.refused.get(code)
        entry: dict[str, Any] = {
            "granted": result.granted.get(code, []),
            "already": result.already.get(code, []),
            "wrong_type": result.wrong_type.get(code, []),
        }
        if refusal is not None:
            entry["status"] = "refused"
            entry["refusal"] = {
                "reason": str(refusal.reason), "message": wording.refusal_text(refusal),
                "needed": refusal.needed, "available": refusal.available,
                "seats": refusal.seats,
            }
        else:
            entry["status"] = "granted" if entry["granted"] else "unchanged"
        products[code] = entry
    return {"changed": result.changed, "products": products, "inactive": result.inactive,
            "messages": messages_data(wording.grant_messages(result))}


def recall_data(result: RecallResult, codes: Iterable[str]) -> dict[str, Any]:
    products = {
        code: {"status": "recalled" if result.recalled.get(code) else "unchanged",
               "recalled": result.recalled.get(code, [])}
        for code in codes}
    return {"changed": result.changed, "products": products,
            "messages": messages_data(wording.recall_messages(result))}


CHANGE_ERRORS = {
    **COMMON_ERRORS,
    400: openapi.problem("The request is not valid: ``errors`` says why, per field."),
    404: openapi.problem("Unknown users or products: nothing was changed."),
}


class ChangeView(LicensingAPIView):
    """Grant or recall: the users and products are checked first (nothing changes for an
    unknown one), then one action does the work, as the admin's bulk actions do."""

    def validated(self, request: Request) -> tuple[list[int], list[str]]:
        body = serializers.ChangeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        refs = body.validated_data["users"]
        codes = list(dict.fromkeys(body.validated_data["products"]))
        found, unknown = find_users(refs)
        if unknown:
            raise problems.not_found(
                _("There is no user %(users)s: nothing was changed.")
                % {"users": wording.names_list(unknown)}, unknown_users=unknown)
        return list(dict.fromkeys(found.values())), codes

    def unknown_products(self, codes: list[str], known: Iterable[str]) -> None:
        missing = [code for code in codes if code not in set(known)]
        if missing:
            raise problems.not_found(
                _("%(codes)s: not a product of the installed license, so nothing was "
                  "changed.") % {"codes": wording.names_list(missing)},
                unknown_products=missing)


class GrantView(ChangeView):
    """Grant products to users: all or nothing per product, as in the admin."""

    @extend_schema(request=serializers.ChangeRequestSerializer,
                   responses={200: serializers.ChangeResultSerializer, **CHANGE_ERRORS,
                              409: openapi.problem(
                                  "Not enough seats (or a product not grantable today): that "
                                  "product was not granted; ``results`` says what was.")})
    def post(self, request: Request) -> Response:
        pks, codes = self.validated(request)
        state = LicensingState.get()
        if not state.demo_mode:  # in demo mode the action says why nothing can be granted
            self.unknown_products(codes, LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes,
            ).values_list("code", flat=True))
        result = operations.grant(pks, codes, user=request.user, source=AssignmentSource.API)
        data = grant_data(result, codes)
        if result.refused:
            refusals = list(result.refused.values())
            if all(r.reason == GrantRefusalReason.NOT_INSTALLED for r in refusals):
                raise problems.not_found(" ".join(wording.refusal_text(r) for r in refusals),
                                         results=data)
            seats = any(r.reason == GrantRefusalReason.NOT_ENOUGH_SEATS for r in refusals)
            raise problems.conflict("seat-conflict" if seats else "not-grantable",
                                    " ".join(wording.refusal_text(r) for r in refusals),
                                    results=data)
        return Response(data, status=http.HTTP_200_OK)


class RecallView(ChangeView):
    """Recall products from users; recalling what nobody holds changes nothing."""

    @extend_schema(request=serializers.ChangeRequestSerializer,
                   responses={200: serializers.ChangeResultSerializer, **CHANGE_ERRORS})
    def post(self, request: Request) -> Response:
        pks, codes = self.validated(request)
        # Codes of the installed license, or of assignments a former license left.
        known = set(installed_products().filter(code__in=codes).values_list("code", flat=True))
        known |= set(LicenseAssignment.objects.filter(product_code__in=codes)
                     .values_list("product_code", flat=True).distinct())
        self.unknown_products(codes, known)
        result = operations.recall(pks, codes, user=request.user, source=AssignmentSource.API)
        return Response(recall_data(result, codes))


class MetricsView(LicensingAPIView):
    """Seats, use, holders, days until expiry and status per product for Prometheus; a
    read-only token is enough."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Prometheus asks for text/plain or OpenMetrics; errors are still problem details.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "text/plain"): str, (200, "application/openmetrics-text"): str,
                              **COMMON_ERRORS})
    def get(self, request: Request) -> HttpResponse:
        state = LicensingState.get()
        body, content_type = metrics.render(installed_products(state), site_today(),
                                            demo=state.demo_mode,
                                            accept=request.META.get("HTTP_ACCEPT", ""))
        return HttpResponse(body, content_type=content_type)
