"""What the API reads from requests (validated per field) and the shapes it answers with.

The response serializers describe the OpenAPI document; the data itself comes from the kept
counters and ``rules.status`` (``status.product_summary``), never recomputed here.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import HELD_KINDS, HELD_SOURCES, AssignmentSource

# Most users one grant or recall names (one statement per product whatever the number).
MAX_USERS = 10_000
MAX_PRODUCTS = 100
# The largest primary key a database holds (a bigint); larger ids name nobody, and would
# overflow the query.
MAX_ID = 2**63 - 1


class UserRefField(serializers.Field):
    """A user by username (a JSON string) or by id (a JSON integer)."""

    max_length = 255

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
            # No name holds a NUL (nor can, on PostgreSQL).
            if len(data) > self.max_length or "\x00" in data:
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
    source = serializers.ChoiceField(
        required=False, choices=AssignmentSource.choices,
        help_text=_("How it was granted (the channel: admin, import, API...)."))
    held = serializers.ChoiceField(
        required=False, choices=HELD_KINDS,
        help_text=_("Where it is held from, as System users' Source filter says: granted "
                    "directly, through a group, or both."))


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
    held = serializers.ChoiceField(choices=HELD_SOURCES)
    groups = serializers.ListField(child=serializers.CharField(),
                                   help_text=_("The groups it is held through, by name."))


class UserLicenseSerializer(serializers.Serializer):
    product = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)
    installed = serializers.BooleanField()
    has_seat = serializers.BooleanField()
    granted_at = serializers.DateTimeField()
    source = serializers.CharField()
    held = serializers.ChoiceField(choices=HELD_SOURCES)
    groups = serializers.ListField(child=serializers.CharField())
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
    unknown_groups = serializers.ListField(required=False)
    unknown_products = serializers.ListField(child=serializers.CharField(), required=False)
    results = ChangeResultSerializer(required=False)


# License files, license request -----------------------------------------------------------


class LicenseFileUploadSerializer(serializers.Serializer):
    license_file = serializers.FileField(
        help_text=_("The .lic file (at most 1 MiB). Or send it as the whole body, as "
                    "application/octet-stream or text/plain."))


class LicenseFileConfirmSerializer(serializers.Serializer):
    token = serializers.UUIDField(help_text=_("The token a preview answered."))


class LicenseFacetsSerializer(serializers.Serializer):
    license_id = serializers.CharField()
    company_id = serializers.CharField()
    license_version = serializers.CharField(allow_null=True)
    issued_at = serializers.DateTimeField()
    instance_id = serializers.CharField(allow_null=True,
                                        help_text=_("Null: for any site of the company."))


class LicenseProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    seats = serializers.IntegerField(allow_null=True)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()


class ChangeDetailSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class LicenseProductChangeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "changed", "removed", "unchanged"])
    old = LicenseProductSerializer(allow_null=True)
    new = LicenseProductSerializer(allow_null=True)
    details = ChangeDetailSerializer(many=True)


class LicenseFileChangesSerializer(serializers.Serializer):
    license = LicenseFacetsSerializer()
    replaces = serializers.CharField(allow_null=True)
    has_changes = serializers.BooleanField()
    changes = LicenseProductChangeSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class LicenseFilePreviewSerializer(LicenseFileChangesSerializer):
    token = serializers.UUIDField()
    filename = serializers.CharField()
    expires_at = serializers.DateTimeField()


class LicenseFileInstalledSerializer(LicenseFileChangesSerializer):
    installed_file = InstalledFileSerializer()
    messages = MessageSerializer(many=True)


class LicenseDeletedSerializer(serializers.Serializer):
    deleted = InstalledFileSerializer()
    demo_mode = serializers.BooleanField()
    messages = MessageSerializer(many=True)


class LicenseRequestSerializer(serializers.Serializer):
    company_id = serializers.CharField(
        required=False, allow_blank=True, max_length=255,
        help_text=_("Default: the installed license's, else the COMPANY_ID setting."))
    license_version = serializers.CharField(
        required=False, allow_blank=True, max_length=255,
        help_text=_("Default: the LICENSE_VERSION setting, else the installed license's."))


class LicenseRequestFileSerializer(serializers.Serializer):
    """The ``.tlr`` file (JSON), sent as an attachment."""

    type = serializers.CharField()
    format = serializers.IntegerField()
    company_id = serializers.CharField()
    instance_id = serializers.CharField()
    license_version = serializers.CharField(allow_blank=True)
    generated_at = serializers.DateTimeField()
    generated_by = serializers.CharField(allow_null=True)
    site = serializers.DictField()
    installed_license_id = serializers.CharField(allow_null=True)
    usage = serializers.ListField(child=serializers.DictField())
    active_users = serializers.IntegerField()
    usage_summary = serializers.DictField()
    software = serializers.DictField()


# Portal users -----------------------------------------------------------------------------


class PortalUserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    username = serializers.CharField(
        required=False, allow_blank=True, max_length=150,
        help_text=_("Leave empty to use the e-mail address."))
    products = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=MAX_PRODUCTS,
        help_text=_("Portal product codes to grant: all or nothing."))


class PortalUserConvertSerializer(serializers.Serializer):
    user = UserRefField(help_text=_("A username (string) or a user id (integer)."))


class PortalUserResultSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    products = serializers.ListField(child=serializers.CharField(),
                                     help_text=_("Products granted."))
    recalled = serializers.ListField(child=serializers.CharField(),
                                     help_text=_("Products recalled (portal users cannot "
                                                 "hold them)."))
    messages = MessageSerializer(many=True)


# Usage history, idle seats ----------------------------------------------------------------


class UsageFilterSerializer(serializers.Serializer):
    product = serializers.CharField(required=False, max_length=64)
    start = serializers.DateField(required=False, help_text=_("First day (included)."))
    end = serializers.DateField(required=False, help_text=_("Last day (included)."))


class UsageSnapshotSerializer(serializers.Serializer):
    product = serializers.CharField()
    day = serializers.DateField()
    seats = serializers.IntegerField(allow_null=True, help_text=_("Null: unlimited."))
    used = serializers.IntegerField()
    holders = serializers.IntegerField()
    active_holders_30d = serializers.IntegerField()
    peak_sessions = serializers.IntegerField()


class IdleFilterSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=3650,
                                    help_text=_("Idle for this many days (default: the "
                                                "IDLE_DAYS setting)."))
    product = serializers.CharField(required=False, max_length=64)


class IdleProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    holders = serializers.IntegerField(help_text=_("Holders idle for the days asked."))
    seats_freed = serializers.IntegerField(help_text=_("Seats recalling them would free."))
    usernames = serializers.ListField(child=serializers.CharField(),
                                      help_text=_("The first 50, by username."))
    more = serializers.IntegerField(help_text=_("Idle holders not named."))


class IdleSeatsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    idle_since = serializers.DateField()
    products = IdleProductSerializer(many=True)


# Group licenses ---------------------------------------------------------------------------

# The largest priority a binding holds (a PositiveIntegerField, on every database).
MAX_PRIORITY = 2**31 - 1


class GroupRefField(UserRefField):
    """A group by name (a JSON string) or by id (a JSON integer)."""

    max_length = 150

    default_error_messages = {
        "invalid": _("Give a group name (a string) or a group id (an integer)."),
        "blank": _("A group name cannot be blank."),
    }


class GroupFilterSerializer(serializers.Serializer):
    product = serializers.CharField(required=False, max_length=64,
                                    help_text=_("Only the groups bound to this product."))


class BindRequestSerializer(serializers.Serializer):
    products = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_PRODUCTS,
        help_text=_("Product codes."))
    priority = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_PRIORITY,
        help_text=_("Groups with a lower number are seated first when seats run out."))
    dry_run = serializers.BooleanField(
        default=False, help_text=_("Only preview: the seats needed and available, and who "
                                   "would be left without one. Nothing is bound."))


class UnbindRequestSerializer(serializers.Serializer):
    products = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=MAX_PRODUCTS,
        help_text=_("Product codes."))


class ReprocessRequestSerializer(serializers.Serializer):
    group = GroupRefField(required=False)
    users = serializers.ListField(
        child=UserRefField(), required=False, min_length=1, max_length=MAX_USERS,
        help_text=_("Users by username (string) or id (integer)."))
    remove_manual = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "group" in attrs and "users" in attrs:
            raise serializers.ValidationError(
                _("Reprocess a group or users, not both."))
        if attrs["remove_manual"] and "group" not in attrs:
            raise serializers.ValidationError(
                {"remove_manual": [_("Removing manual grants needs a group.")]})
        return attrs


class LicensingErrorFilterSerializer(serializers.Serializer):
    group = serializers.CharField(required=False, max_length=150,
                                  help_text=_("A group name, or a group id."))
    product = serializers.CharField(required=False, max_length=64)
    user = serializers.CharField(required=False, max_length=255,
                                 help_text=_("A username, or a user id."))


class GroupBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BindingSerializer(serializers.Serializer):
    product = serializers.CharField()
    priority = serializers.IntegerField()
    holders = serializers.IntegerField()
    errors = serializers.IntegerField()


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    members = serializers.IntegerField()
    errors = serializers.IntegerField()
    bindings = BindingSerializer(many=True)


class BindingPreviewSerializer(serializers.Serializer):
    product = serializers.CharField()
    name = serializers.CharField()
    installed = serializers.BooleanField()
    members = serializers.IntegerField()
    already = serializers.IntegerField()
    needed = serializers.IntegerField()
    ineligible = serializers.IntegerField()
    available = serializers.IntegerField(allow_null=True)
    left_without = serializers.IntegerField()
    left_names = serializers.ListField(child=serializers.CharField())


class GroupChangeResultSerializer(serializers.Serializer):
    changed = serializers.BooleanField()
    event = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
    products = serializers.ListField(child=serializers.CharField())
    bound = serializers.ListField(child=serializers.CharField())
    unbound = serializers.ListField(child=serializers.CharField())
    refused = serializers.DictField(child=serializers.CharField())
    granted = serializers.DictField(child=serializers.IntegerField())
    removed = serializers.DictField(child=serializers.IntegerField())
    made_inherited = serializers.DictField(child=serializers.IntegerField())
    resolved = serializers.DictField(child=serializers.IntegerField())
    errors = serializers.DictField(child=serializers.IntegerField())
    messages = MessageSerializer(many=True)


class BindResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    group = GroupSerializer()
    preview = BindingPreviewSerializer(many=True, required=False)
    result = GroupChangeResultSerializer(required=False)


class UnbindResultSerializer(serializers.Serializer):
    group = GroupSerializer()
    result = GroupChangeResultSerializer()


class LicensingErrorSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    product = serializers.CharField()
    group = GroupBriefSerializer()
    reason = serializers.CharField()
    message = serializers.CharField()
    since = serializers.DateTimeField()
