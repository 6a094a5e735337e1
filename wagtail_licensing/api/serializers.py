"""What the API reads from requests (validated per field) and the shapes it answers with.

The response serializers describe the OpenAPI document; the data itself comes from the kept
counters and ``rules.status`` (``status.product_summary``), never recomputed here.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import AssignmentSource

# Most users one grant or recall names (one statement per product whatever the number).
MAX_USERS = 10_000
MAX_PRODUCTS = 100
# The largest primary key a database holds (a bigint); larger ids name nobody, and would
# overflow the query.
MAX_ID = 2**63 - 1


class UserRefField(serializers.Field):
    """A user by username (a JSON string) or by id (a JSON integer)."""

    default_error_messages = {
        "invalid": _("Give a username (a string) or a user id (an integer)."),
        "blank": _("A username cannot be blank."),
    }

    def to_internal_value(self, data: Any) -> str | int:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if isinstance(data, int) and not 0 < data <= MAX_ID:
            self.fail("invalid")
        if isinstance(data, str):
            if not data.strip():
                self.fail("blank")
            if len(data) > 255:
                self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ChangeRequestSerializer(serializers.Serializer):
    users = serializers.ListField(
        child=UserRefField(), min_length=1, max_length=MAX_USERS,
        help_text=_("Users by username (string) or id (integer)."))
    products = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_PRODUCTS,
        help_text=_("Product codes."))


class AssignmentFilterSerializer(serializers.Serializer):
    product = serializers.CharField(required=False, max_length=64)
    user = serializers.CharField(required=False, max_length=255,
                                 help_text=_("A username, or a user id."))
    source = serializers.ChoiceField(required=False, choices=AssignmentSource.choices)


# Responses: for the OpenAPI document ------------------------------------------------------


class AlertSerializer(serializers.Serializer):
    kind = serializers.CharField()
    level = serializers.ChoiceField(choices=["error", "warning"])
    message = serializers.CharField()


class ProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["named", "concurrent", "portal"])
    seats = serializers.IntegerField(allow_null=True, help_text=_("Null: unlimited."))
    used = serializers.IntegerField(help_text=_("Seats (or concurrent sessions) in use."))
    available = serializers.IntegerField(allow_null=True, help_text=_("Null: unlimited."))
    holders = serializers.IntegerField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    grants_until = serializers.DateField()
    days_until_expiry = serializers.IntegerField()
    state = serializers.CharField()
    status = serializers.CharField()
    alerts = AlertSerializer(many=True)


class InstalledFileSerializer(serializers.Serializer):
    license_id = serializers.CharField()
    license_version = serializers.CharField(allow_null=True)
    filename = serializers.CharField()
    issued_at = serializers.DateTimeField()
    installed_at = serializers.DateTimeField()
    installed_by = serializers.CharField(allow_null=True)


class LicenseSerializer(serializers.Serializer):
    company_id = serializers.CharField()
    instance_id = serializers.CharField()
    demo_mode = serializers.BooleanField()
    installed_file = InstalledFileSerializer(allow_null=True)
    status = serializers.CharField(allow_null=True)
    days_until_expiry = serializers.IntegerField(allow_null=True)
    seats = serializers.IntegerField(allow_null=True)
    seats_used = serializers.IntegerField()
    seats_available = serializers.IntegerField(allow_null=True)
    alerts = AlertSerializer(many=True)
    products = ProductSerializer(many=True)


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class AssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserBriefSerializer()
    product = serializers.CharField()
    has_seat = serializers.BooleanField()
    granted_at = serializers.DateTimeField()
    granted_by = serializers.CharField(allow_null=True)
    source = serializers.CharField()


class UserLicenseSerializer(serializers.Serializer):
    product = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)
    installed = serializers.BooleanField()
    has_seat = serializers.BooleanField()
    granted_at = serializers.DateTimeField()
    source = serializers.CharField()
    state = serializers.CharField(allow_null=True)


class UserLicensesSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    is_active = serializers.BooleanField()
    licenses = UserLicenseSerializer(many=True)


class MessageSerializer(serializers.Serializer):
    level = serializers.CharField()
    text = serializers.CharField()


class ProductChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["granted", "recalled", "unchanged", "refused"])
    granted = serializers.ListField(child=serializers.CharField(), required=False)
    recalled = serializers.ListField(child=serializers.CharField(), required=False)
    already = serializers.ListField(child=serializers.CharField(), required=False)
    wrong_type = serializers.ListField(child=serializers.CharField(), required=False)
    refusal = serializers.DictField(required=False)


class ChangeResultSerializer(serializers.Serializer):
    changed = serializers.BooleanField()
    products = serializers.DictField(child=ProductChangeSerializer())
    inactive = serializers.ListField(child=serializers.CharField(), required=False)
    messages = MessageSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   required=False)
    unknown_users = serializers.ListField(required=False)
    unknown_products = serializers.ListField(child=serializers.CharField(), required=False)
    results = ChangeResultSerializer(required=False)
