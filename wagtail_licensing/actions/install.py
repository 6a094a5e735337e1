"""Preview and install a license file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import keys
from ..dates import format_day, format_moment, site_today
from ..exceptions import AlreadyInstalled, LicenseRefused
from ..license_file import SignedLicense, read_license_file
from ..models import (
    LicenseAssignment,
    LicensedProduct,
    LicenseFile,
    LicensingState,
    ProductType,
    is_portal_user_expression,
)
from ..permissions import MANAGE, permission_policy
from ..rules.labels import product_label
from ..rules.status import (
    Alert,
    AlertKind,
    ProductFacts,
    ProductStatus,
    alert_message,
    grace_period,
    opens_admin,
    product_status,
)
from . import counters
from .base import LicensingAction, StateAccess
from .grant import GrantAction
from .group_results import source_hooks
from .group_seats import GroupChanges, bindings_by_code, reconcile
from .results import GrantRefusalReason
from .seats import reallocate

ACTION_UPLOAD = "wagtail_licensing.upload"
BEFORE_LICENSE_FILE_INSTALL = "before_license_file_install"
AFTER_LICENSE_FILE_INSTALL = "after_license_file_install"


class ChangeKind(models.TextChoices):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass
class ProductChange:
    """How one product changes when a file is installed."""

    code: str
    name: str
    kind: ChangeKind
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    details: list[dict[str, Any]] = field(default_factory=list)


# How many of the users who would lose the admin a preview names (the count is always complete).
LOCKED_OUT_LISTED = 200


@dataclass(frozen=True)
class LockedOutUser:
    """An active admin user who holds none of the file's products that open the admin, and
    so loses the admin once it is installed (a license manager keeps the licensing screens)."""

    pk: Any
    username: str
    name: str
    manager: bool
    superuser: bool


@dataclass(frozen=True)
class SeatOffer:
    """A product of the file that the confirmation can grant, with its free seats once the
    file is installed (None: unlimited, or concurrent slots, which are not held)."""

    code: str
    name: str
    type: str
    available: int | None

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)


@dataclass
class UploadPreview:
    """What installing a license file would change; nothing has been changed yet."""

    signed: SignedLicense
    content: str
    installed: LicenseFile | None
    changes: list[ProductChange]
    warnings: list[str]
    #: The warnings among ``warnings`` that forecast over-allocation: once the file is
    #: installed, the admin's banner states the fact itself.
    forecasts: list[str] = field(default_factory=list)
    #: Who loses the admin (the first ``LOCKED_OUT_LISTED``, by username) and how many in all.
    locked_out: list[LockedOutUser] = field(default_factory=list)
    locked_out_count: int = 0
    #: What the confirmation can grant them, within the seats free after the install.
    seat_offers: list[SeatOffer] = field(default_factory=list)

    @property
    def payload(self) -> Any:
        return self.signed.payload

    @property
    def has_changes(self) -> bool:
        return any(change.kind != ChangeKind.UNCHANGED for change in self.changes)

    def changes_of(self, kind: str) -> list[ProductChange]:
        return [change for change in self.changes if change.kind == kind]


@dataclass
class InstallResult:
    license_file: LicenseFile
    preview: UploadPreview
    changed: bool = True
    #: Product code -> usernames granted it in the same confirmation.
    granted: dict[str, list[str]] = field(default_factory=dict)
    #: What seating the members of bound groups did (``group_seats.reconcile``).
    group_changes: GroupChanges | None = None


def _product_dict(product: Any) -> dict[str, Any]:
    return {
        "code": product.code,
        "name": product.name,
        "type": product.type,
        "seats": product.seats,
        "valid_from": product.valid_from.isoformat(),
        "valid_until": product.valid_until.isoformat(),
    }


def _decode(content: str | bytes) -> str:
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return content


def _check_installable(signed: SignedLicense, state: LicensingState, today: date) -> None:
    payload = signed.payload
    installed = state.installed_file
    if payload.instance_id is not None and payload.instance_id != str(state.instance_id):
        raise LicenseRefused(
            _("This license file was issued for another site (instance ID %(theirs)s); this "
              "site's instance ID is %(ours)s. Send your vendor a license request from this "
              "site and upload the file they send back.")
            % {"theirs": payload.instance_id, "ours": state.instance_id}
        )
    if installed is not None:
        if payload.license_id == installed.license_id:
            raise AlreadyInstalled(
                _("The license file %(id)s is already installed. Nothing was changed.")
                % {"id": payload.license_id}
            )
        if payload.company_id != installed.company_id:
            raise LicenseRefused(
                _("This license file is for the company %(theirs)s, but the installed license "
                  "is for %(ours)s. Check that the file is yours, or delete the installed "
                  "licenses first if the company really changed.")
                % {"theirs": payload.company_id, "ours": installed.company_id}
            )
    # The newest file ever installed for the company, installed now or deleted since: an older
    # file is a downgrade either way (a vendor who needs to go back signs a newer file). The
    # same file may be installed again after a delete, which restores it.
    newest = state.newest_installed(payload.company_id)
    if (newest is not None and payload.license_id != newest.license_id
            and payload.issued_at < newest.issued_at):
        raise LicenseRefused(
            _("This license file was issued on %(theirs)s, before the license %(id)s "
              "(issued on %(ours)s) that this site has installed: installing it would be a "
              "downgrade, even after the licenses were deleted. Upload the newest file your "
              "vendor sent, or ask them for a newer one.")
            % {"theirs": format_moment(payload.issued_at), "id": newest.license_id,
               "ours": format_moment(newest.issued_at)}
        )
    if all(product.valid_until < today for product in payload.products):
        raise LicenseRefused(
            _("Every product in this license file has already expired (the last on "
              "%(until)s). Ask your vendor for a renewed license file.")
            % {"until": format_day(max(p.valid_until for p in payload.products))}
        )


def build_preview(content: str | bytes, state: LicensingState) -> UploadPreview:
    """Verify ``content`` and compare it with the installed file. Reads only."""
    content = _decode(content)
    signed = read_license_file(content, keys.public_keys())
    today = site_today()
    _check_installable(signed, state, today)

    current: dict[str, LicensedProduct] = {}
    if state.installed_file_id:
        current = {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id
            ).with_usage()
        }
    changes = []
    for product in signed.payload.products:
        new = _product_dict(product)
        old_product = current.get(product.code)
        details = []
        if old_product is None:
            kind = ChangeKind.ADDED
        else:
            old = _product_dict(old_product)
            for key, label in (("name", _("name")), ("type", _("type")), ("seats", _("seats")),
                               ("valid_from", _("valid from")),
                               ("valid_until", _("valid until"))):
                if old[key] != new[key]:
                    details.append({"field": key, "label": str(label), "old": old[key],
                                    "new": new[key]})
            kind = ChangeKind.CHANGED if details else ChangeKind.UNCHANGED
        changes.append(ProductChange(code=product.code, name=product.name, kind=kind,
                                     old=_product_dict(old_product) if old_product else None,
                                     new=new, details=details))
    new_codes = {p.code for p in signed.payload.products}
    removed = [old for code, old in current.items() if code not in new_codes]
    for old_product in removed:
        changes.append(ProductChange(code=old_product.code, name=old_product.name,
                                     kind=ChangeKind.REMOVED, old=_product_dict(old_product),
                                     new=None))
    products = signed.payload.products
    general, forecasts = warning_parts(products, removed, today)
    locked_out, locked_out_count = users_losing_admin(products, today)
    return UploadPreview(signed=signed, content=content, installed=state.installed_file,
                         changes=changes,
                         warnings=general + forecasts, forecasts=forecasts,
                         locked_out=locked_out, locked_out_count=locked_out_count,
                         seat_offers=seat_offers(products, today) if locked_out_count else [])


def _opening_codes(products: Sequence[Any], today: date) -> list[str]:
    """Codes of the file's products that would open the admin today (grace period included)."""
    grace = grace_period()
    return [p.code for p in products
            if opens_admin(p.code, str(p.type)) and p.valid_from <= today <= p.valid_until + grace]


def admin_users() -> models.QuerySet[Any]:
    """Active users who may open the Wagtail admin (superusers, or ``access_admin`` through
    their groups or permissions) and are not portal users."""
    access = Permission.objects.filter(content_type__app_label="wagtailadmin",
                                       codename="access_admin")
    User = get_user_model()
    return (User._default_manager.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(user_permissions__in=access)
                    | Q(groups__permissions__in=access))
            .exclude(is_portal_user_expression())
            .distinct())


def users_losing_admin(products: Sequence[Any], today: date) -> tuple[list[LockedOutUser], int]:
    """Active admin users who hold none of ``products`` that open the admin today: once the
    file is installed the enforcement gate keeps them out of the admin (license managers keep
    the licensing screens). Holders without a seat of an over-allocated product are warned
    about separately (``preview_warnings``). Four queries, however many users."""
    codes = _opening_codes(products, today)
    users = admin_users().exclude(
        pk__in=LicenseAssignment.objects.filter(product_code__in=codes).values("user_id"))
    count = users.count()
    if not count:
        return [], 0
    User = get_user_model()
    listed = list(users.order_by(User.USERNAME_FIELD)[:LOCKED_OUT_LISTED])
    managers = set(permission_policy.users_with_any_permission([MANAGE])
                   .filter(pk__in=[u.pk for u in listed]).values_list("pk", flat=True))
    return [
        LockedOutUser(pk=u.pk, username=u.get_username(),
                      name=(u.get_full_name() if hasattr(u, "get_full_name") else "") or "",
                      manager=u.pk in managers, superuser=bool(u.is_superuser))
        for u in listed
    ], count


def seat_offers(products: Sequence[Any], today: date) -> list[SeatOffer]:
    """The file's products that open the admin and can be granted today, with the seats
    free once the file is installed: seats less the active holders who keep one."""
    codes = set(_opening_codes(products, today))
    kept = counters.kept(codes)
    offers = []
    for product in products:
        if product.code not in codes or not (product.valid_from <= today <= product.valid_until):
            continue
        available = None
        if product.seats is not None and product.type != ProductType.CONCURRENT:
            held = kept.get(product.code)
            available = max(product.seats - (held.active_holders if held else 0), 0)
        offers.append(SeatOffer(code=product.code, name=product.name, type=str(product.type),
                                available=available))
    return offers


def preview_warnings(products: Sequence[Any], removed: Sequence[LicensedProduct],
                     today: date) -> list[str]:
    """What to warn the manager about before a file is installed: products that grant no
    access today, holders of removed products, over-allocation."""
    general, forecasts = warning_parts(products, removed, today)
    return general + forecasts


def warning_parts(products: Sequence[Any], removed: Sequence[LicensedProduct],
                  today: date) -> tuple[list[str], list[str]]:
    """``preview_warnings`` in two parts: the warnings, and the forecasts of over-allocation
    ("it will be over-allocated"), which the admin's banner states once the file is installed.

    Whether a product of the new file grants access, is in its grace period or will be
    over-allocated is decided by ``rules.status`` with the facts the file would install (its
    seats, today's holders), the same rule as every status tag, banner and notice; only the
    wording is the preview's own, because it speaks of what installing would do.
    """
    limited = [p.code for p in products if p.seats is not None and p.type != ProductType.CONCURRENT]
    holders = {code: kept.active_holders
               for code, kept in counters.kept(limited).items() if kept.active_holders}
    warnings = []
    facts = []
    for product in products:
        active = holders.get(product.code, 0)
        facts.append(ProductFacts(
            code=product.code, name=product.name, type=str(product.type), seats=product.seats,
            valid_from=product.valid_from, valid_until=product.valid_until,
            in_use=min(active, product.seats or 0), active_holders=active,
            over_allocated=product.code in holders and active > (product.seats or 0)))
    for fact in facts:
        status = product_status(fact, today)
        if status == ProductStatus.EXPIRED:
            warnings.append(_("%(product)s expired on %(until)s and grants no access.")
                            % {"product": fact.label, "until": format_day(fact.valid_until)})
        elif status in (ProductStatus.IN_GRACE, ProductStatus.NOT_YET_VALID):
            kind = (AlertKind.IN_GRACE if status == ProductStatus.IN_GRACE
                    else AlertKind.NOT_YET_VALID)
            warnings.append(alert_message(Alert(kind, fact)))
    for old_product in removed:
        if old_product.holders:
            warnings.append(
                ngettext(
                    "%(product)s is not in the new file: its %(n)d holder keeps the "
                    "assignment but loses access until a file grants it again.",
                    "%(product)s is not in the new file: its %(n)d holders keep "
                    "their assignments but lose access until a file grants it again.",
                    old_product.holders,
                ) % {"product": old_product.label, "n": old_product.holders}
            )
    forecasts = []
    for fact in facts:
        if fact.over_allocated:
            seats = ngettext("%(product)s has %(seats)d seat",
                             "%(product)s has %(seats)d seats", fact.seats or 0) % {
                "product": fact.label, "seats": fact.seats}
            holding = ngettext("%(in_use)d active user holds it",
                               "%(in_use)d active users hold it", fact.active_holders) % {
                "in_use": fact.active_holders}
            keep = ngettext("The earliest-granted user keeps their seat",
                            "The %(seats)d earliest-granted users keep their seat",
                            fact.seats or 0) % {"seats": fact.seats}
            lose = ngettext("the most recently granted loses access until seats are freed",
                            "the %(lose)d most recently granted lose access until seats are "
                            "freed", fact.without_seat) % {"lose": fact.without_seat}
            forecasts.append(
                _("%(seats)s but %(holders)s: it will be over-allocated. %(keep)s; %(lose)s.")
                % {"seats": seats, "holders": holding, "keep": keep, "lose": lose}
            )
    return warnings, forecasts


class PreviewUploadAction(LicensingAction[UploadPreview]):
    """Validate a license file and say what installing it would change. Changes nothing, so
    it takes no lock and opens no transaction; the install validates again under the lock."""

    state_access = StateAccess.READ
    atomic = False

    def __init__(self, content: str | bytes, *, user: Any = None) -> None:
        super().__init__(user=user)
        self.content = content

    def _run(self) -> UploadPreview:
        return build_preview(self.content, self.state)


class InstallAction(LicensingAction[InstallResult]):
    """Install a license file, replacing the installed entitlement (the old file stays in
    history). Validates everything again under the lock, whatever a preview said."""

    log_action = ACTION_UPLOAD

    def __init__(self, content: str | bytes, *, user: Any = None,
                 grant: Mapping[str, Sequence[Any]] | None = None) -> None:
        """``grant``: product code -> users (or their primary keys) to grant it once the file
        is installed, in the same transaction (the preview's "grant them seats"). If a product
        has not enough seats for them, nothing is installed (``LicenseRefused``)."""
        super().__init__(user=user)
        self.content = content
        self.grant = {code: list(users) for code, users in (grant or {}).items() if users}
        self.previous: LicenseFile | None = None

    def _run(self) -> InstallResult:
        state = self.state
        preview = build_preview(self.content, state)
        self.run_hook(BEFORE_LICENSE_FILE_INSTALL, preview=preview)
        payload = preview.payload
        license_file = LicenseFile.objects.create(
            license_id=payload.license_id,
            company_id=payload.company_id,
            instance_id=payload.instance_id,
            license_version=payload.license_version,
            issued_at=payload.issued_at,
            kid=preview.signed.kid,
            content=preview.content,
            payload=json.loads(preview.signed.payload_bytes.decode("utf-8")),
            installed_by=self.user,
        )
        LicensedProduct.objects.bulk_create(
            LicensedProduct(license_file=license_file, code=p.code, name=p.name, type=p.type,
                            seats=p.seats, valid_from=p.valid_from, valid_until=p.valid_until)
            for p in payload.products
        )
        self.previous = state.installed_file
        state.installed_file = license_file
        state.save(update_fields=["installed_file"])
        reallocate(license_file.pk)
        # The seats the confirmation selected first (the manager chose them against the seats
        # the preview showed free), then members of bound groups waiting for a seat get one of
        # what is left (their errors resolve); fewer seats: what is left is reported as errors.
        granted = self._grant(license_file)
        group_changes = reconcile(license_file.pk, bindings_by_code(), by=self.user)
        return InstallResult(license_file=license_file, preview=preview, granted=granted,
                             group_changes=group_changes)

    def _grant(self, license_file: LicenseFile) -> dict[str, list[str]]:
        """Grant what the confirmation selected, through the grant action (its seat rules, its
        audit entry and hooks), inside this transaction: a refusal rolls the install back."""
        granted: dict[str, list[str]] = {}
        for code, users in self.grant.items():
            result = GrantAction(users, code, user=self.user).execute()
            refusal = result.refused.get(code)
            if refusal is None:
                granted[code] = result.granted.get(code, [])
                continue
            label = refusal.label
            if refusal.reason == GrantRefusalReason.NOT_ENOUGH_SEATS:
                selected = ngettext("%(n)d user was selected for %(product)s",
                                    "%(n)d users were selected for %(product)s",
                                    refusal.needed) % {"n": refusal.needed, "product": label}
                free = ngettext("only %(n)d seat is free once the file is installed",
                                "only %(n)d seats are free once the file is installed",
                                refusal.available or 0) % {"n": refusal.available or 0}
                raise LicenseRefused(
                    _("Nothing was installed: %(selected)s, but %(free)s. Select fewer users, "
                      "or install the file first and grant seats afterwards.")
                    % {"selected": selected, "free": free})
            raise LicenseRefused(
                _("Nothing was installed: %(product)s cannot be granted today. Install the file "
                  "without granting it.") % {"product": label})
        return granted

    def log_data(self, result: InstallResult) -> dict[str, Any]:
        preview = result.preview
        payload = preview.payload
        return {
            "license_id": payload.license_id,
            "previous_license_id": self.previous.license_id if self.previous else None,
            "company_id": payload.company_id,
            "products": [c.code for c in preview.changes if c.kind != ChangeKind.REMOVED],
            "added": [c.code for c in preview.changes_of(ChangeKind.ADDED)],
            "removed": [c.code for c in preview.changes_of(ChangeKind.REMOVED)],
            "changed": [c.code for c in preview.changes_of(ChangeKind.CHANGED)],
            "warnings": [str(w) for w in preview.warnings],
            **({"granted": {code: len(names) for code, names in result.granted.items()}}
               if result.granted else {}),
        }

    def hooks(self, result: InstallResult) -> list[tuple[str, dict[str, Any]]]:
        return [(AFTER_LICENSE_FILE_INSTALL, {"license_file": result.license_file,
                                              "preview": result.preview}),
                *source_hooks(result.group_changes)]
