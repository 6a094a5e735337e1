"""Portal users through the API: create one (with portal products, all or nothing) or convert
an existing non-admin account, through the same actions and with the same refusals as the
admin's "Add portal user" and "Convert to portal user"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response

from .. import operations, wording
from ..exceptions import PortalUserError
from ..models import LicensedProduct, LicensingState
from . import openapi, problems, serializers
from .openapi import extend_schema
from .views import COMMON_ERRORS, ChangeView, find_users, messages_data

PORTAL_ERRORS = {
    **COMMON_ERRORS,
    400: openapi.problem("The request is not valid: ``errors`` says why, per field."),
    409: openapi.problem(
        "Refused as in the admin (the e-mail address or username is taken, "
        "no seat left, not a portal product, an admin account): nothing "
        "was changed."
    ),
}


def user_data(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.get_username()}


class PortalUserCreateView(ChangeView):
    """Create a portal user account (no password: the site's reset or invitation sets one)
    and grant it portal products; if any cannot be granted, nothing is created."""

    @extend_schema(
        request=serializers.PortalUserCreateSerializer,
        responses={
            201: serializers.PortalUserResultSerializer,
            **PORTAL_ERRORS,
            404: openapi.problem(
                "A product the installed license does not have: nothing was created."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = serializers.PortalUserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        codes = list(dict.fromkeys(data.get("products", [])))
        state = LicensingState.get()
        if codes and not state.demo_mode:
            self.unknown_products(
                codes,
                LicensedProduct.objects.filter(
                    license_file_id=state.installed_file_id,
                    code__in=codes,
                ).values_list("code", flat=True),
            )
        with problems.refusals("portal-user-refused", catch=(PortalUserError,)):
            result = operations.create_portal_user(
                email=data["email"],
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                username=data.get("username") or None,
                product_codes=codes,
                user=request.user,
            )
        granted = result.granted.granted if result.granted else {}
        return Response(
            {
                "user": user_data(result.user),
                "products": [code for code in codes if granted.get(code)],
                "recalled": [],
                "messages": messages_data(
                    [
                        (
                            "success",
                            _("Portal user %(user)s created.")
                            % {"user": result.user.get_username()},
                        ),
                        *wording.messages(result),
                    ]
                ),
            },
            status=http.HTTP_201_CREATED,
        )


class PortalUserConvertView(ChangeView):
    """Make an existing non-admin user a portal user, recalling what portal users cannot
    hold; superusers, staff and users with Wagtail admin access are refused."""

    @extend_schema(
        request=serializers.PortalUserConvertSerializer,
        responses={
            200: serializers.PortalUserResultSerializer,
            **PORTAL_ERRORS,
            404: openapi.problem("No such user."),
        },
    )
    def post(self, request: Request) -> Response:
        body = serializers.PortalUserConvertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ref = body.validated_data["user"]
        found, unknown = find_users([ref])
        if unknown:
            raise problems.not_found(
                _("There is no user %(users)s: nothing was changed.")
                % {"users": wording.names_list(unknown)},
                unknown_users=unknown,
            )
        subject = get_user_model()._default_manager.get(pk=found[ref])
        with problems.refusals("portal-user-refused", catch=(PortalUserError,)):
            result = operations.convert_to_portal_user(subject, user=request.user)
        recalled = result.recalled.recalled if result.recalled else {}
        return Response(
            {
                "user": user_data(result.user),
                "products": [],
                "recalled": sorted(code for code, names in recalled.items() if names),
                "messages": messages_data(
                    [
                        (
                            "success",
                            _("%(user)s is now a portal user.") % {"user": subject.get_username()},
                        ),
                        *wording.messages(result),
                    ]
                ),
            }
        )
