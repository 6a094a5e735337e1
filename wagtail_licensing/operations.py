"""The public API for site code: one function per licensing action.

Each function runs one action of ``wagtail_licensing.actions`` (which owns the transaction, the
licensing row lock, the permission check, the version bump, the audit entry, the hooks and the
cache publication) and returns its result, which carries data only: turn it into messages with
``wagtail_licensing.wording``. ``user`` is the acting user: when given, it must hold
CanManageLicUsers (``LicensingPermissionDenied`` otherwise); leave it out from code that acts on
the site's own behalf. The hook names (docs/hooks.md) and audit log actions are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from wagtail.models import Site

from . import census
from .actions.activity import RecordActivityAction
from .actions.api_tokens import (
    ACTION_API_TOKEN,
    ApiTokenResult,
    CreateApiTokenAction,
    RevokeApiTokenAction,
    TouchApiTokenAction,
)
from .actions.counters import (
    ACTION_REPAIR_COUNTERS,
    BindingsDrift,
    Counts,
    Drift,
    HoldersDrift,
    RepairCountersAction,
    RepairResult,
    bindings_drift,
    drift,
)
from .actions.counters import license_holders_drift as counters_license_holders_drift
from .actions.deactivation import ACTION_USER_STATUS, UsersStatusChanged, UserStatusChanged
from .actions.delete import ACTION_DELETE, AFTER_LICENSES_DELETED, DeleteAction
from .actions.grant import ACTION_GRANT, GrantAction
from .actions.group_bind import (
    BindGroupLicensesAction,
    PreviewGroupBindingAction,
    UnbindGroupLicensesAction,
)
from .actions.group_membership import GroupMembershipChangedAction
from .actions.group_reprocess import ReprocessGroupLicensesAction
from .actions.group_results import (
    ACTION_GROUP_LICENSES,
    AFTER_GROUP_LICENSES_CHANGED,
    GroupBindingPreview,
    GroupLicensesResult,
)
from .actions.group_seats import bindings_by_code
from .actions.idle import IdleProduct, idle_days, idle_summary
from .actions.imports import (
    ACTION_IMPORT,
    AFTER_LICENSES_IMPORTED,
    ImportAction,
    PreviewImportAction,
)
from .actions.install import (
    ACTION_UPLOAD,
    AFTER_LICENSE_FILE_INSTALL,
    BEFORE_LICENSE_FILE_INSTALL,
    ChangeKind,
    InstallAction,
    InstallResult,
    PreviewUploadAction,
    ProductChange,
    UploadPreview,
)
from .actions.portal_users import (
    ACTION_PORTAL_USER,
    AFTER_PORTAL_USER_CREATED,
    ConvertToPortalUserAction,
    CreatePortalUserAction,
    PortalStatusChanged,
    portal_conversion_refusal,
)
from .actions.recall import ACTION_RECALL, RecallAction
from .actions.request import (
    ACTION_REQUEST,
    AFTER_LICENSE_REQUEST_CREATED,
    LicenseRequest,
    LicenseRequestAction,
    default_license_version,
)
from .actions.results import (
    AFTER_LICENSES_GRANTED,
    AFTER_LICENSES_RECALLED,
    GrantRefusal,
    GrantRefusalReason,
    GrantResult,
    ImportResult,
    LicenseSource,
    PortalUserResult,
    RecallResult,
)
from .actions.sessions import (
    ACTION_RELEASE,
    AFTER_CONCURRENT_SLOTS_RELEASED,
    EndSessionAction,
    ReleaseSlotsAction,
    TakeSlotAction,
    TouchSlotAction,
)
from .actions.usage import SnapshotResult, TakeUsageSnapshotAction
from .census import CensusDrift
from .importing import ImportPlan
from .models import ApiToken, AssignmentSource, ConcurrentSession, LicenseFile

__all__ = [
    "ACTION_API_TOKEN", "ApiTokenResult", "create_api_token", "revoke_api_token",
    "touch_api_token",
    "ACTION_DELETE", "ACTION_GRANT", "ACTION_IMPORT", "ACTION_PORTAL_USER", "ACTION_RECALL",
    "ACTION_RELEASE", "ACTION_REPAIR_COUNTERS", "ACTION_REQUEST", "ACTION_UPLOAD",
    "ACTION_USER_STATUS",
    "AFTER_CONCURRENT_SLOTS_RELEASED", "AFTER_LICENSES_DELETED", "AFTER_LICENSES_GRANTED",
    "AFTER_LICENSES_IMPORTED", "AFTER_LICENSES_RECALLED", "AFTER_LICENSE_FILE_INSTALL",
    "AFTER_LICENSE_REQUEST_CREATED", "AFTER_PORTAL_USER_CREATED", "BEFORE_LICENSE_FILE_INSTALL",
    "ChangeKind", "Counts", "Drift", "GrantRefusal", "GrantRefusalReason", "GrantResult",
    "IdleProduct", "ImportResult", "idle_seats", "recall_idle_seats", "reclaim_idle_seats",
    "InstallResult", "LicenseRequest", "LicenseSource", "PortalUserResult", "ProductChange",
    "RecallResult",
    "RepairResult", "SnapshotResult", "CensusDrift", "census_drift", "counter_drift",
    "HoldersDrift", "license_holders_drift",
    "record_activity", "repair_counters",
    "take_usage_snapshot",
    "UploadPreview", "convert_to_portal_user", "create_license_request", "create_portal_user",
    "default_license_version", "delete_licenses", "end_concurrent_session", "grant",
    "import_assignments", "install_license_file", "portal_conversion_refusal",
    "portal_status_changed", "preview_import", "preview_upload", "recall",
    "release_concurrent_slots",
    "take_concurrent_slot", "touch_concurrent_slot", "user_status_changed",
    "users_status_changed",
    "ACTION_GROUP_LICENSES", "AFTER_GROUP_LICENSES_CHANGED", "GroupBindingPreview",
    "GroupLicensesResult", "bind_group_licenses", "group_deleted", "group_memberships_changed",
    "preview_group_binding", "reprocess_group_licenses", "unbind_group_licenses",
]


# License files -----------------------------------------------------------------------------


def preview_upload(content: str | bytes, *, user: Any = None) -> UploadPreview:
    """Validate a license file and say what installing it would change. Changes nothing.

    Raises ``InvalidLicenseFile``, ``LicenseRefused`` or ``AlreadyInstalled``.
    """
    return PreviewUploadAction(content, user=user).execute()


def install_license_file(content: str | bytes, *, user: Any = None,
                         grant: Mapping[str, Sequence[Any]] | None = None) -> InstallResult:
    """Install a license file, replacing the installed entitlement (the old file stays in
    history). Validates everything again under the lock, whatever a preview said.

    ``grant`` maps product codes to users (or primary keys) to grant them in the same
    transaction, e.g. the admin users the preview says would lose access; if a product has not
    enough seats for them, nothing is installed (``LicenseRefused``)."""
    return InstallAction(content, user=user, grant=grant).execute()


def delete_licenses(*, user: Any = None) -> LicenseFile:
    """Remove the installed entitlement: the site runs in demo mode. History and assignments
    are kept, so uploading a file again restores them. Returns the file that was installed."""
    return DeleteAction(user=user).execute().license_file


# Grant and recall --------------------------------------------------------------------------


def grant(users: Any, product_codes: str | Iterable[str], *, user: Any = None,
          source: AssignmentSource = AssignmentSource.MANUAL,
          today: date | None = None) -> GrantResult:
    """Grant products to users (a queryset, users or primary keys) under the seat rules
    (docs: "Seat rules"): all-or-nothing per product, in a constant number of queries."""
    return GrantAction(users, product_codes, user=user, source=source, today=today).execute()


def recall(users: Any, product_codes: str | Iterable[str], *, user: Any = None,
           source: AssignmentSource = AssignmentSource.MANUAL) -> RecallResult:
    """Recall products from users. Never fails for seat reasons; recalling what a user does
    not hold changes nothing. Freed seats go to over-allocated holders without one."""
    return RecallAction(users, product_codes, user=user, source=source).execute()


def counter_drift() -> list[Drift]:
    """Products whose kept seat counters (``ProductUsage``) differ from their assignments, for
    example after site code changed ``LicenseAssignment`` rows or ``is_active`` with a bare
    ``UPDATE``. Changes nothing."""
    return drift()


def binding_count_drift() -> BindingsDrift | None:
    """The kept count of group bindings (``LicensingState.group_bindings``, read by every
    deactivation) against the bindings there are; None when they agree. Changes nothing."""
    return bindings_drift()


def license_holders_drift() -> HoldersDrift | None:
    """The kept count of users who hold a license (``LicensingState.license_holders``, which
    System users' "Holds a license" / "Holds no license" count from) against the
    assignments; None when they agree. Changes nothing."""
    return counters_license_holders_drift()


def census_drift() -> CensusDrift | None:
    """The kept user census (``UserCensus``: active users and portal users, which "Add users"
    numbers its pages from) against a count of the users; None when they agree, for example
    unless site code created users with ``bulk_create`` or changed ``is_active`` with a bare
    ``UPDATE``. Changes nothing."""
    return census.drift()


def repair_counters(*, user: Any = None) -> RepairResult:
    """Recount every product's seat counters from the assignments, the count of group
    bindings, the license holders and the user census, under the licensing lock, and store
    what differed (logged in the audit log when anything did)."""
    return RepairCountersAction(user=user).execute()


def user_status_changed(subject: Any, *, user: Any = None,
                        deleted_codes: Iterable[str] | None = None) -> None:
    """``subject`` was deactivated, reactivated or deleted: seats follow at once (seat rule
    1). ``deleted_codes``: the products a deleted user held."""
    UserStatusChanged(subject, user=user, deleted_codes=deleted_codes).execute()


def users_status_changed(subjects: Any, *, user: Any = None) -> None:
    """Many users were activated or deactivated by one ``UPDATE``: seats follow them all, and
    the user census. ``subjects``: the users whose state changed, and only them."""
    UsersStatusChanged(subjects, user=user).execute()


# Group licensing ---------------------------------------------------------------------------


def bind_group_licenses(group: Any, product_codes: str | Iterable[str], *,
                        priority: int | None = None, user: Any = None) -> GroupLicensesResult:
    """Bind products to a Wagtail group (or change the binding's priority): every eligible
    member holds them, up to the seats; the rest get licensing errors."""
    return BindGroupLicensesAction(group, product_codes, priority=priority, user=user).execute()


def unbind_group_licenses(group: Any, product_codes: str | Iterable[str], *,
                          user: Any = None) -> GroupLicensesResult:
    """Unbind products from a group: what only that group gave goes."""
    return UnbindGroupLicensesAction(group, product_codes, user=user).execute()


def preview_group_binding(group: Any, product_codes: str | Iterable[str], *,
                          user: Any = None) -> list[GroupBindingPreview]:
    """What binding products to a group would do (seats needed, available, members left
    without a seat). Changes nothing."""
    return PreviewGroupBindingAction(group, product_codes, user=user).execute()


def reprocess_group_licenses(*, group: Any = None, users: Any = None,
                             remove_manual: bool = False,
                             user: Any = None) -> GroupLicensesResult:
    """Reprocess group licenses: for a group, for users, or (neither) everything."""
    return ReprocessGroupLicensesAction(group=group, users=users, remove_manual=remove_manual,
                                        user=user).execute()


def group_memberships_changed(users: Any, groups: Iterable[Any] | None, *,
                              user: Any = None) -> GroupLicensesResult | None:
    """Users joined or left ``groups`` (None: every group, after ``user.groups.clear()``);
    ``users`` None: every member of ``groups``. Does nothing (one query) when none of the
    groups is bound to a product."""
    codes = bindings_by_code(groups=groups) if groups is not None else bindings_by_code()
    if not codes:
        return None
    return GroupMembershipChangedAction(users, codes, groups=groups or (), user=user).execute()


def group_deleted(product_codes: Iterable[str], *,
                  group_name: str | None = None) -> GroupLicensesResult:
    """A group bound to ``product_codes`` was deleted (with its bindings and sources): what
    only it gave goes, and the seats it frees go to members of other groups waiting.
    ``group_name``: the deleted group's, for the audit entry and hooks."""
    return GroupMembershipChangedAction(
        None, product_codes, group_names=None if group_name is None else [group_name]
    ).execute()


# Portal users ------------------------------------------------------------------------------


def create_portal_user(*, email: str, first_name: str = "", last_name: str = "",
                       username: str | None = None, product_codes: Iterable[str] = (),
                       user: Any = None, today: date | None = None) -> PortalUserResult:
    """Create a portal user account and grant it portal products, all or nothing
    (``PortalUserError`` says why nothing was created)."""
    return CreatePortalUserAction(email=email, first_name=first_name, last_name=last_name,
                                  username=username, codes=product_codes, user=user,
                                  today=today).execute()


def convert_to_portal_user(subject: Any, *, user: Any = None) -> PortalUserResult:
    """Make an existing non-admin user a portal user, recalling what portal users cannot
    hold. Admin users are refused with ``PortalUserError``."""
    return ConvertToPortalUserAction(subject, user=user).execute()


def portal_status_changed(user_key: Any) -> None:
    """The user with this key became or stopped being a portal user (a ``PortalUser`` row
    saved or deleted): the counters of what they hold follow. Called by the signals."""
    PortalStatusChanged(user_key).execute()


# Import ------------------------------------------------------------------------------------


def preview_import(rows: Any, *, user: Any = None, today: date | None = None) -> ImportPlan:
    """Step 1 of an import, the dry run: what ``rows`` would change and every row error.

    ``rows`` is a ``resources.AssignmentFile`` (from ``resources.read_assignments``) or a list
    of ``resources.ImportRow``. Changes nothing.
    """
    return PreviewImportAction(rows, user=user, today=today).execute()


def import_assignments(rows: Any, *, user: Any = None, expected_version: int | None = None,
                       today: date | None = None) -> ImportResult:
    """Step 2 of an import: apply ``rows`` in one transaction, all or nothing
    (``ImportRefused`` with the plan when a row is in error; ``ImportOutdated`` when licensing
    changed since the preview of ``expected_version``)."""
    return ImportAction(rows, user=user, expected_version=expected_version,
                        today=today).execute()


# License request ---------------------------------------------------------------------------


def create_license_request(*, user: Any = None, company_id: str | None = None,
                           license_version: str | None = None,
                           site: Site | None = None) -> LicenseRequest:
    """Build the ``.tlr`` file a manager sends to the vendor, and log it."""
    return LicenseRequestAction(user=user, company_id=company_id,
                                license_version=license_version, site=site).execute()


# Concurrent slots --------------------------------------------------------------------------


def take_concurrent_slot(subject: Any, product_codes: str | Iterable[str], *, token: str,
                         now: datetime | None = None) -> ConcurrentSession:
    """Give ``subject``'s session ``token`` a slot of the first of ``product_codes`` with one
    free; ``NoFreeSlot`` when every slot is taken."""
    return TakeSlotAction(subject, product_codes, token=token, now=now).execute()


def touch_concurrent_slot(token: str, *, user: Any, product_codes: str | Iterable[str],
                          now: datetime | None = None) -> str | None:
    """Record that ``user``'s session ``token`` is still in use; its slot's product code, or
    None when the slot is gone."""
    return TouchSlotAction(token, user=user, codes=product_codes, now=now).execute()


def end_concurrent_session(token: str | None, *, user: Any = None) -> list[str]:
    """The session ``token`` of ``user`` signed out: free its slot and every other slot of the
    user; returns the freed slots' tokens."""
    return EndSessionAction(token, subject=user).execute()


def release_concurrent_slots(sessions: Iterable[Any], *,
                             user: Any = None) -> list[tuple[str, str]]:
    """A license manager releases slots (``ConcurrentSession`` objects or primary keys);
    returns the released sessions' ``(username, product_code)`` pairs."""
    return ReleaseSlotsAction(sessions, user=user).execute().released


# API tokens --------------------------------------------------------------------------------


def create_api_token(*, name: str, read_only: bool = True, owner: Any = None,
                     user: Any = None) -> ApiTokenResult:
    """A new API token for ``owner`` (default: the acting ``user``). ``result.secret`` is the
    token: show it once, it is stored only as its SHA-256 digest."""
    return CreateApiTokenAction(name=name, read_only=read_only, owner=owner,
                                user=user).execute()


def revoke_api_token(token: ApiToken | int, *, user: Any = None) -> ApiTokenResult:
    """Revoke a token (an ``ApiToken`` or its primary key); revoking twice changes nothing."""
    return RevokeApiTokenAction(token, user=user).execute()


def touch_api_token(token: ApiToken, *, now: datetime | None = None) -> bool:
    """Record ``token``'s use now, at most once per ``ApiToken.LAST_USED_PRECISION``; True
    when it wrote (the API's authentication calls it on every request)."""
    return TouchApiTokenAction(token, now=now).execute()


# Usage history -----------------------------------------------------------------------------


def record_activity(subject: Any, product_codes: str | Iterable[str], *,
                    day: date | None = None) -> int:
    """Record that ``subject`` used ``product_codes`` on ``day`` (default today); the number
    of their assignments updated. The middleware and ``license_required`` call it once a day
    per user (``enforcement.activity``)."""
    return RecordActivityAction(subject, product_codes, day=day).execute()


def take_usage_snapshot(*, day: date | None = None, user: Any = None) -> SnapshotResult:
    """Write or refresh the day's usage row of every installed product, and prune rows older
    than ``USAGE_RETENTION_DAYS``."""
    return TakeUsageSnapshotAction(day=day, user=user).execute()


def recall_idle_seats(users: Any, product_codes: str | Iterable[str], *,
                      days: int | None = None, user: Any = None,
                      source: AssignmentSource = AssignmentSource.BULK) -> RecallResult:
    """Recall ``product_codes`` from those of ``users`` who have not used them for ``days``
    (default ``IDLE_DAYS``); the others keep theirs. The Recall action, restricted to idle
    assignments: one transaction and one audit entry."""
    return RecallAction(users, product_codes, user=user, source=source,
                        idle_days=days or idle_days()).execute()


def idle_seats(days: int | None = None, *, users: Any = None,
               product_codes: Iterable[str] | None = None, sample: int = 0) -> list[IdleProduct]:
    """Per product, the holders idle for ``days`` (default ``IDLE_DAYS``) among ``users`` (a
    queryset; default everybody) and the seats recalling them would free; changes nothing."""
    return idle_summary(days, users=users,
                        codes=None if product_codes is None else list(product_codes),
                        sample=sample)


def reclaim_idle_seats(product_codes: Iterable[str], *, days: int, spared: Any = None,
                       user: Any = None) -> RecallResult:
    """The automatic reclaim's recall: ``product_codes`` from every holder idle for ``days``
    but those ``spared`` (a condition on assignments), audited as automatic. ``reclaim``
    decides who is spared (managers, notices not yet served); call ``reclaim.run_reclaim``."""
    users = get_user_model()._default_manager.all()
    return RecallAction(users, product_codes, user=user, source=AssignmentSource.COMMAND,
                        idle_days=days, automatic=True, exclude=spared).execute()
