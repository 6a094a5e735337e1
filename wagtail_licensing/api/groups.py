"""Group licenses through the API: the Wagtail groups with their bindings, binding a product
to a group (with the admin's preview as a dry run), unbinding it, reprocessing, and the
licensing errors of members left without a seat.

The same steps as Licensing > Groups and ``manage.py licensing groups``, through the same
code: the bindings, counts and errors are read by ``group_status``; every change is one of the
group actions (``operations.*group*``: the lock, the seating order, the audit entry with the
group as the reason, the hooks), worded by ``wording.group_messages``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from .. import group_status, operations, wording
from ..actions.group_results import GroupLicensesResult, result_data
from ..models import GroupLicense, GroupLicenseError, LicensedProduct, LicensingState
from ..rules.labels import product_label
from . import openapi, problems, serializers
from .openapi import extend_schema
from .views import (
    CHANGE_ERRORS,
    COMMON_ERRORS,
    AssignmentPagination,
    ChangeView,
    LicensingAPIView,
    find_user,
    find_users,
    messages_data,
)

GROUP_NOT_FOUND = openapi.problem("No such group.")


def find_group(ref: str | int) -> Group:
    """A group by name (a string; by id when no name matches and it is digits) or by id (an
    integer); 404 otherwise."""
    lookup = Q(pk=ref) if isinstance(ref, int) else Q(name=ref)
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and (
            0 < int(ref) <= serializers.MAX_ID):
        lookup |= Q(pk=int(ref))
    groups: list[Group] = []
    if not (isinstance(ref, str) and "\x00" in ref):  # names nothing (PostgreSQL refuses it)
        groups = sorted(Group.objects.filter(lookup)[:2], key=lambda g: g.name != ref)
    if not groups:
        raise problems.not_found(_("There is no group %(group)s.") % {"group": ref},
                                 unknown_groups=[ref])
    return groups[0]


def groups_queryset() -> QuerySet[Group]:
    """Groups with their member and licensing error counts, in the page's one query."""
    errors = GroupLicenseError.objects.filter(group_id=OuterRef("pk")).order_by().values(
        "group_id").annotate(n=Count("pk")).values("n")
    return Group.objects.annotate(
        _members=Count("user", distinct=True),
        _errors=Coalesce(Subquery(errors[:1]), Value(0)),
    ).order_by("name", "pk")


def groups_data(groups: list[Group]) -> list[dict[str, Any]]:
    """Each group with its bindings (one query for all of them)."""
    bindings: dict[int, list[dict[str, Any]]] = {}
    for row in group_status.bindings(groups=[g.pk for g in groups]) if groups else []:
        bindings.setdefault(row.group_id, []).append({
            "product": row.code, "priority": row.priority, "holders": row.holders,
            "errors": row.errors})
    return [{"id": g.pk, "name": g.name, "members": g._members,  # type: ignore[attr-defined]
             "errors": g._errors, "bindings": bindings.get(g.pk, [])}  # type: ignore[attr-defined]
            for g in groups]


def group_data(group: Group) -> dict[str, Any]:
    (data,) = groups_data([groups_queryset().get(pk=group.pk)])
    return data


def change_data(result: GroupLicensesResult) -> dict[str, Any]:
    return {"changed": result.changed, **result_data(result),
            "messages": messages_data(wording.group_messages(result))}


class GroupListView(LicensingAPIView):
    """The Wagtail groups, by name, with their members, the products bound to them (priority,
    holders through the group, licensing errors) and their licensing errors, a page at a time:
    three queries a page, whatever the number."""

    pagination_class = AssignmentPagination

    @extend_schema(
        parameters=[serializers.GroupFilterSerializer],
        responses={200: serializers.GroupSerializer(many=True), **COMMON_ERRORS,
                   400: openapi.problem("A filter is not valid."),
                   404: openapi.problem("No such page.")})
    def get(self, request: Request) -> Response:
        filters = serializers.GroupFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        groups = groups_queryset()
        if "product" in filters.validated_data:
            groups = groups.filter(Exists(GroupLicense.objects.filter(
                group_id=OuterRef("pk"), product_code=filters.validated_data["product"])))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(groups, request, view=self) or []
        return paginator.get_paginated_response(groups_data(list(page)))


class GroupDetailView(LicensingAPIView):
    """One group (by name, or by id when no name matches), as the list shows it."""

    @extend_schema(responses={200: serializers.GroupSerializer, **COMMON_ERRORS,
                              404: GROUP_NOT_FOUND})
    def get(self, request: Request, group: str) -> Response:
        return Response(group_data(find_group(group)))


class GroupBindView(ChangeView):
    """Bind products to the group (or change their priority) and seat its members at once, in
    the seating order; members left without a seat get a licensing error (``result.errors``,
    and ``group-licenses/errors/``). With ``dry_run``, only the admin's preview: nothing is
    bound."""

    @extend_schema(
        request=serializers.BindRequestSerializer,
        responses={
            200: serializers.BindResultSerializer,
            **CHANGE_ERRORS,
            404: openapi.problem("No such group, or a product the installed license does not "
                                 "have: nothing was bound."),
            409: openapi.problem("No license is installed (demo mode): nothing was bound."),
        },
    )
    def post(self, request: Request, group: str) -> Response:
        body = serializers.BindRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target = find_group(group)
        codes = list(dict.fromkeys(data["products"]))
        state = LicensingState.get()
        # In demo mode the action says why nothing can be bound; a dry run has no action to
        # refuse it, so it names the products as unknown.
        if not state.demo_mode or data["dry_run"]:
            self.unknown_products(codes, LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes,
            ).values_list("code", flat=True))
        if data["dry_run"]:
            previews = operations.preview_group_binding(target, codes, user=request.user)
            return Response({
                "dry_run": True,
                "group": group_data(target),
                "preview": [{"product": p.code, **{k: v for k, v in asdict(p).items()
                                                   if k not in ("code", "group")}}
                            for p in previews],
            })
        with problems.refusals():
            result = operations.bind_group_licenses(
                target, codes, priority=data.get("priority"), user=request.user)
        return Response({"dry_run": False, "group": group_data(target),
                         "result": change_data(result)})


class GroupUnbindView(ChangeView):
    """Unbind products from the group: what only this group gave goes (and frees its seats),
    members who hold a product directly or through another group keep it, and the freed seats
    go to members of other groups waiting. Unbinding what is not bound changes nothing."""

    @extend_schema(
        request=serializers.UnbindRequestSerializer,
        responses={200: serializers.UnbindResultSerializer, **CHANGE_ERRORS,
                   404: GROUP_NOT_FOUND},
    )
    def post(self, request: Request, group: str) -> Response:
        body = serializers.UnbindRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = find_group(group)
        with problems.refusals():
            result = operations.unbind_group_licenses(
                target, list(dict.fromkeys(body.validated_data["products"])), user=request.user)
        return Response({"group": group_data(target), "result": change_data(result)})


class ReprocessView(ChangeView):
    """Give seats again in the seating order (group priority, then earliest membership),
    resolve the licensing errors that can be, and report what remains (Entra's "Reprocess"):
    for one ``group``'s products, for ``users``, or (neither) everything. ``remove_manual``
    (with ``group``): the members' direct grants of its products become inherited, so that
    leaving the group frees them (by default they are kept). Always audited."""

    @extend_schema(
        request=serializers.ReprocessRequestSerializer,
        responses={200: serializers.GroupChangeResultSerializer, **CHANGE_ERRORS,
                   404: openapi.problem("No such group or user: nothing was reprocessed.")},
    )
    def post(self, request: Request) -> Response:
        body = serializers.ReprocessRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target = find_group(data["group"]) if "group" in data else None
        users = None
        if "users" in data:
            found, unknown = find_users(data["users"])
            if unknown:
                raise problems.not_found(
                    _("There is no user %(users)s: nothing was changed.")
                    % {"users": wording.names_list(unknown)}, unknown_users=unknown)
            users = list(dict.fromkeys(found.values()))
        with problems.refusals():
            result = operations.reprocess_group_licenses(
                group=target, users=users, remove_manual=data["remove_manual"],
                user=request.user)
        return Response(change_data(result))


class LicensingErrorListView(LicensingAPIView):
    """Members of bound groups left without the group's product (by product, group and
    user), with why, a page at a time: three queries a page, whatever the number."""

    pagination_class = AssignmentPagination

    @extend_schema(
        parameters=[serializers.LicensingErrorFilterSerializer],
        responses={200: serializers.LicensingErrorSerializer(many=True), **COMMON_ERRORS,
                   400: openapi.problem("A filter is not valid."),
                   404: openapi.problem("No such group or user, or no such page.")})
    def get(self, request: Request) -> Response:
        filters = serializers.LicensingErrorFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rows = GroupLicenseError.objects.select_related("user", "group")
        if "group" in data:
            rows = rows.filter(group=find_group(data["group"]))
        if "product" in data:
            rows = rows.filter(product_code=data["product"])
        if "user" in data:
            rows = rows.filter(user=find_user(data["user"]))
        rows = rows.order_by("product_code", "group__name", "user_id", "pk")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        names = dict(LicensedProduct.objects.installed().filter(
            code__in={e.product_code for e in page}).values_list("code", "name")) if page else {}
        return paginator.get_paginated_response([{
            "user": {"id": e.user_id, "username": e.user.get_username()},
            "product": e.product_code,
            "group": {"id": e.group_id, "name": e.group.name},
            "reason": e.reason,
            "message": _("Licensing error: %(reason)s for %(product)s from the group "
                         "%(group)s.") % {
                "reason": e.get_reason_display().lower(),
                "product": product_label(names.get(e.product_code), e.product_code),
                "group": e.group.name},
            "since": e.created_at,
        } for e in page])
