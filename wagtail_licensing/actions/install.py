"""Preview and install a license file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import keys
from ..dates import format_day, format_moment, site_today
from ..exceptions import AlreadyInstalled, LicenseRefused
from ..license_file import SignedLicense, read_license_file
from ..models import LicensedProduct, LicenseFile, LicensingState, ProductType
from ..rules.status import (
    Alert,
    AlertKind,
    ProductFacts,
    ProductStatus,
    alert_message,
    product_status,
)
from . import counters
from .base import LicensingAction, StateAccess
from .group_seats import bindings_by_code, reconcile
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


@dataclass
class UploadPreview:
    """What installing a license file would change; nothing has been changed yet."""

    signed: SignedLicense
    content: str
    installed: LicenseFile | None
    changes: list[ProductChange]
    warnings: list[str]

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
    return UploadPreview(signed=signed, content=content, installed=state.installed_file,
                         changes=changes,
                         warnings=preview_warnings(signed.payload.products, removed, today))


def preview_warnings(products: Sequence[Any], removed: Sequence[LicensedProduct],
                     today: date) -> list[str]:
    """What to warn the manager about before a file is installed: products that grant no
    access today, holders of removed products, over-allocation.

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
            warnings.append(
                _("%(seats)s but %(holders)s: it will be over-allocated. %(keep)s; %(lose)s.")
                % {"seats": seats, "holders": holding, "keep": keep, "lose": lose}
            )
    return warnings


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

    def __init__(self, content: str | bytes, *, user: Any = None) -> None:
        super().__init__(user=user)
        self.content = content
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
        # More seats, or a product back in the license: members of bound groups waiting for
        # a seat get one (their errors resolve); fewer: what is left is reported as errors.
        reconcile(license_file.pk, bindings_by_code(), by=self.user)
        return InstallResult(license_file=license_file, preview=preview)

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
        }

    def hooks(self, result: InstallResult) -> list[tuple[str, dict[str, Any]]]:
        return [(AFTER_LICENSE_FILE_INSTALL, {"license_file": result.license_file,
                                              "preview": result.preview})]
