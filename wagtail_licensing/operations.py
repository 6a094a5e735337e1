"""The only code that changes licensing state.

Every operation runs in one transaction, takes the licensing row lock first (so that counts
cannot change under it on PostgreSQL), bumps the state version that caches key on, writes one
entry to Wagtail's audit log and calls the site's hooks (see docs/hooks.md). Views, bulk actions
and commands validate input, call one of these and render the result.
"""

import json
import platform
from dataclasses import dataclass, field
from datetime import timedelta

import django
import wagtail
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.log_actions import log

from . import __version__, cache, keys
from .conf import licensing_settings
from .dates import site_date, site_today
from .exceptions import (
    AlreadyInstalled,
    GrantError,
    ImportOutdated,
    ImportRefused,
    InvalidLicenseRequest,
    LicenseRefused,
    NoFreeSlot,
    PortalUserError,
)
from .license_file import read_license_file
from .models import (
    AssignmentSource,
    ConcurrentSession,
    LicenseAssignment,
    LicensedProduct,
    LicenseFile,
    LicensingState,
    PortalUser,
    ProductType,
    has_field,
    is_portal_user_expression,
)
from .rules.filenames import safe_filename
from .rules.labels import product_label

# Hooks other apps register with ``@hooks.register(NAME)``; documented in docs/hooks.md.
BEFORE_LICENSE_FILE_INSTALL = "before_license_file_install"
AFTER_LICENSE_FILE_INSTALL = "after_license_file_install"
AFTER_LICENSES_DELETED = "after_licenses_deleted"
AFTER_LICENSE_REQUEST_CREATED = "after_license_request_created"
AFTER_LICENSES_GRANTED = "after_licenses_granted"
AFTER_LICENSES_RECALLED = "after_licenses_recalled"
AFTER_LICENSES_IMPORTED = "after_licenses_imported"
AFTER_PORTAL_USER_CREATED = "after_portal_user_created"
AFTER_CONCURRENT_SLOTS_RELEASED = "after_concurrent_slots_released"

# Audit log actions.
ACTION_UPLOAD = "wagtail_licensing.upload"
ACTION_DELETE = "wagtail_licensing.delete"
ACTION_GRANT = "wagtail_licensing.grant"
ACTION_RECALL = "wagtail_licensing.recall"
ACTION_REQUEST = "wagtail_licensing.request"
ACTION_USER_STATUS = "wagtail_licensing.user_status"
ACTION_IMPORT = "wagtail_licensing.import"
ACTION_PORTAL_USER = "wagtail_licensing.portal_user"
ACTION_RELEASE = "wagtail_licensing.release"

# How many names a log entry or message lists before it says "and N more".
NAMES_SHOWN = 50


def _run_hooks(name, **kwargs):
    return [fn(**kwargs) for fn in hooks.get_hooks(name)]


def _real_user(user):
    """The acting user as a saved instance, or None (anonymous, command line)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "_wrapped", user)


def _log(state, action, user, data):
    log(instance=state, action=action, user=_real_user(user), data=data)


def _names(names, limit=NAMES_SHOWN):
    names = list(names)
    if len(names) <= limit:
        return get_text_list([str(n) for n in names], _("and"))
    return _("%(names)s and %(count)d more") % {
        "names": ", ".join(str(n) for n in names[:limit]),
        "count": len(names) - limit,
    }


def _product_dict(product):
    return {
        "code": product.code,
        "name": product.name,
        "type": product.type,
        "seats": product.seats,
        "valid_from": product.valid_from.isoformat(),
        "valid_until": product.valid_until.isoformat(),
    }


# Upload ------------------------------------------------------------------------------------


@dataclass
class ProductChange:
    """How one product changes when a file is installed."""

    code: str
    name: str
    kind: str  # added, removed, changed, unchanged
    old: dict | None
    new: dict | None
    details: list = field(default_factory=list)


@dataclass
class UploadPreview:
    """What installing a license file would change; nothing has been changed yet."""

    signed: object  # license_file.SignedLicense
    content: str
    installed: LicenseFile | None
    changes: list
    warnings: list

    @property
    def payload(self):
        return self.signed.payload

    @property
    def has_changes(self):
        return any(change.kind != "unchanged" for change in self.changes)

    def changes_of(self, kind):
        return [change for change in self.changes if change.kind == kind]


def _decode(content):
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return content


def _check_installable(signed, state, today):
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
        if payload.issued_at < installed.issued_at:
            raise LicenseRefused(
                _("This license file was issued on %(theirs)s, before the installed one "
                  "(%(ours)s): installing it would be a downgrade. Upload the newest file "
                  "your vendor sent.")
                % {"theirs": payload.issued_at.isoformat(),
                   "ours": installed.issued_at.isoformat()}
            )
    if all(product.valid_until < today for product in payload.products):
        raise LicenseRefused(
            _("Every product in this license file has already expired (the last on "
              "%(until)s). Ask your vendor for a renewed license file.")
            % {"until": max(p.valid_until for p in payload.products).isoformat()}
        )


def _build_preview(content, state):
    content = _decode(content)
    signed = read_license_file(content, keys.public_keys())
    today = site_today()
    _check_installable(signed, state, today)

    current = {}
    if state.installed_file_id:
        current = {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id
            ).with_usage()
        }
    # Holders of products that no installed file grants, so "added" can say who regains them.
    changes, warnings = [], []
    for product in signed.payload.products:
        new = _product_dict(product)
        old_product = current.get(product.code)
        details = []
        if old_product is None:
            kind = "added"
        else:
            old = _product_dict(old_product)
            for key, label in (("name", _("name")), ("type", _("type")), ("seats", _("seats")),
                               ("valid_from", _("valid from")),
                               ("valid_until", _("valid until"))):
                if old[key] != new[key]:
                    details.append({"field": key, "label": str(label), "old": old[key],
                                    "new": new[key]})
            kind = "changed" if details else "unchanged"
        changes.append(ProductChange(code=product.code, name=product.name, kind=kind,
                                     old=_product_dict(old_product) if old_product else None,
                                     new=new, details=details))
        if product.valid_until < today:
            warnings.append(_("%(name)s (%(code)s) expired on %(until)s and grants no access.")
                            % {"name": product.name, "code": product.code,
                               "until": product.valid_until.isoformat()})
        elif product.valid_from > today:
            warnings.append(_("%(name)s (%(code)s) is not valid before %(from)s.")
                            % {"name": product.name, "code": product.code,
                               "from": product.valid_from.isoformat()})
    new_codes = {p.code for p in signed.payload.products}
    for code, old_product in current.items():
        if code not in new_codes:
            changes.append(ProductChange(code=code, name=old_product.name, kind="removed",
                                         old=_product_dict(old_product), new=None))
            if old_product.holders:
                warnings.append(
                    ngettext(
                        "%(name)s (%(code)s) is not in the new file: its %(n)d holder keeps the "
                        "assignment but loses access until a file grants it again.",
                        "%(name)s (%(code)s) is not in the new file: its %(n)d holders keep "
                        "their assignments but lose access until a file grants it again.",
                        old_product.holders,
                    ) % {"name": old_product.name, "code": code, "n": old_product.holders}
                )
    _add_over_allocation_warnings(signed.payload.products, warnings)
    return UploadPreview(signed=signed, content=content, installed=state.installed_file,
                         changes=changes, warnings=warnings)


def _add_over_allocation_warnings(products, warnings):
    limited = [p for p in products if p.seats is not None and p.type != ProductType.CONCURRENT]
    if not limited:
        return
    holders = dict(
        LicenseAssignment.objects.filter(
            product_code__in=[p.code for p in limited], user__is_active=True
        ).order_by().values_list("product_code").annotate(n=Count("pk"))
    )
    for product in limited:
        in_use = holders.get(product.code, 0)
        if in_use > product.seats:
            warnings.append(
                _("%(name)s (%(code)s) has %(seats)d seats but %(in_use)d active users hold it: "
                  "it will be over-allocated. The %(seats)d earliest-granted users keep their "
                  "seat; the %(lose)d most recently granted lose access until seats are freed.")
                % {"name": product.name, "code": product.code, "seats": product.seats,
                   "in_use": in_use, "lose": in_use - product.seats}
            )


def preview_upload(content):
    """Validate a license file and say what installing it would change. Changes nothing.

    Raises ``InvalidLicenseFile``, ``LicenseRefused`` or ``AlreadyInstalled``.
    """
    return _build_preview(content, LicensingState.get())


@dataclass
class InstallResult:
    license_file: LicenseFile
    preview: UploadPreview


def install_license_file(content, *, user=None):
    """Install a license file, replacing the installed entitlement (the old file stays in
    history). Validates everything again under the lock, whatever a preview said."""
    with transaction.atomic():
        state = LicensingState.lock()
        preview = _build_preview(content, state)
        _run_hooks(BEFORE_LICENSE_FILE_INSTALL, user=user, preview=preview)
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
            installed_by=_real_user(user),
        )
        LicensedProduct.objects.bulk_create(
            LicensedProduct(license_file=license_file, code=p.code, name=p.name, type=p.type,
                            seats=p.seats, valid_from=p.valid_from, valid_until=p.valid_until)
            for p in payload.products
        )
        previous = state.installed_file
        state.installed_file = license_file
        state.save(update_fields=["installed_file"])
        _reallocate(license_file.pk)
        state.bump_version()
        _log(state, ACTION_UPLOAD, user, {
            "license_id": payload.license_id,
            "previous_license_id": previous.license_id if previous else None,
            "company_id": payload.company_id,
            "products": [change.code for change in preview.changes if change.kind != "removed"],
            "added": [c.code for c in preview.changes_of("added")],
            "removed": [c.code for c in preview.changes_of("removed")],
            "changed": [c.code for c in preview.changes_of("changed")],
            "warnings": [str(w) for w in preview.warnings],
        })
        _run_hooks(AFTER_LICENSE_FILE_INSTALL, user=user, license_file=license_file,
                   preview=preview)
    return InstallResult(license_file=license_file, preview=preview)


def _reallocate(license_file_id, codes=None):
    """Give seats to the earliest-granted active holders, up to each product's seat count.

    One UPDATE per product, however many users hold it. Inactive users never hold a seat;
    unlimited and concurrent products seat every active holder.
    """
    products = LicensedProduct.objects.filter(license_file_id=license_file_id)
    if codes is not None:
        products = products.filter(code__in=list(codes))
    for product in products.only("code", "type", "seats"):
        holders = LicenseAssignment.objects.filter(product_code=product.code)
        seated = holders.filter(user__is_active=True)
        if product.counts_seats:
            seated = seated.order_by("granted_at", "pk")[: product.seats]
        # IN (subquery with LIMIT): fine on PostgreSQL and SQLite, the supported databases.
        holders.update(
            has_seat=Case(
                When(pk__in=seated.values("pk"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )


# Delete ------------------------------------------------------------------------------------


def delete_licenses(*, user=None):
    """Remove the installed entitlement: the site runs in demo mode. History and assignments
    are kept, so uploading a file again restores them."""
    with transaction.atomic():
        state = LicensingState.lock()
        previous = state.installed_file
        if previous is None:
            raise LicenseRefused(_("No license is installed, so there is nothing to delete."))
        state.installed_file = None
        state.save(update_fields=["installed_file"])
        state.bump_version()
        _log(state, ACTION_DELETE, user, {
            "license_id": previous.license_id,
            "products": list(previous.products.values_list("code", flat=True)),
        })
        _run_hooks(AFTER_LICENSES_DELETED, user=user, license_file=previous)
    return previous


# Grant and recall --------------------------------------------------------------------------


@dataclass
class GrantResult:
    """What a grant did, per product, ready to be shown to the manager."""

    granted: dict = field(default_factory=dict)  # code -> [usernames]
    refused: dict = field(default_factory=dict)  # code -> reason
    already: dict = field(default_factory=dict)  # code -> [usernames]
    wrong_type: dict = field(default_factory=dict)  # code -> [usernames]
    inactive: list = field(default_factory=list)  # [usernames]
    names: dict = field(default_factory=dict)  # code -> product name
    types: dict = field(default_factory=dict)  # code -> product type

    @property
    def granted_count(self):
        return sum(len(users) for users in self.granted.values())

    def messages(self):
        """``(level, text)`` pairs: "success", "warning" or "error"."""
        out = []
        for code, users in self.granted.items():
            if users:
                out.append(("success", ngettext(
                    "Granted %(product)s to %(count)d user: %(names)s.",
                    "Granted %(product)s to %(count)d users: %(names)s.", len(users),
                ) % {"product": self._label(code), "count": len(users), "names": _names(users)}))
        for reason in self.refused.values():
            out.append(("error", reason))
        for code, users in self.already.items():
            if users:
                out.append(("warning", ngettext(
                    "Skipped %(count)d user who already holds %(product)s: %(names)s.",
                    "Skipped %(count)d users who already hold %(product)s: %(names)s.",
                    len(users),
                ) % {"product": self._label(code), "count": len(users), "names": _names(users)}))
        for code, users in self.wrong_type.items():
            if users:
                portal = self.types.get(code) == ProductType.PORTAL
                text = (ngettext(
                    "Skipped %(count)d user for %(product)s, which only portal users can hold: "
                    "%(names)s.",
                    "Skipped %(count)d users for %(product)s, which only portal users can hold: "
                    "%(names)s.", len(users))
                    if portal else ngettext(
                    "Skipped %(count)d portal user for %(product)s, which portal users cannot "
                    "hold: %(names)s.",
                    "Skipped %(count)d portal users for %(product)s, which portal users cannot "
                    "hold: %(names)s.", len(users)))
                out.append(("warning", text % {"product": self._label(code), "count": len(users),
                                               "names": _names(users)}))
        if self.inactive:
            out.append(("warning", ngettext(
                "Skipped %(count)d inactive user: %(names)s. Activate the account first.",
                "Skipped %(count)d inactive users: %(names)s. Activate the accounts first.",
                len(self.inactive),
            ) % {"count": len(self.inactive), "names": _names(self.inactive)}))
        return out

    def _label(self, code):
        return _product_label(self.names, code)


def _product_label(names, code):
    return product_label(names.get(code), code)


@dataclass
class RecallResult:
    recalled: dict = field(default_factory=dict)  # code -> [usernames]
    names: dict = field(default_factory=dict)

    @property
    def recalled_count(self):
        return sum(len(users) for users in self.recalled.values())

    def messages(self):
        out = []
        for code, users in self.recalled.items():
            label = _product_label(self.names, code)
            out.append(("success", ngettext(
                "Recalled %(product)s from %(count)d user: %(names)s.",
                "Recalled %(product)s from %(count)d users: %(names)s.", len(users),
            ) % {"product": label, "count": len(users), "names": _names(users)}))
        if not self.recalled:
            out.append(("warning", _("None of the selected users held those licenses: "
                                     "nothing was recalled.")))
        return out


def _user_queryset(users):
    """Accept a user queryset, a list of users or a list of primary keys."""
    User = get_user_model()
    if isinstance(users, QuerySet):
        return users.order_by()
    pks = [getattr(u, "pk", u) for u in users]
    return User._default_manager.filter(pk__in=pks)


def _codes(product_codes):
    if isinstance(product_codes, str):
        product_codes = [product_codes]
    return list(dict.fromkeys(product_codes))


def _insert_assignments(user_qs, product, by, source, now):
    """Insert the product's assignments for every eligible user of ``user_qs`` in one
    ``INSERT ... SELECT``: the query count does not grow with the number of users.

    Users who already hold the product are skipped by ``ON CONFLICT DO NOTHING`` on the
    (user, product) unique index rather than by a NOT EXISTS anti-join, whose plan depends on
    table statistics that a large grant earlier in the same transaction has made stale; the
    index probe per row costs the same whatever the planner believes (10,000 users and two
    products on PostgreSQL: 0.35 s, against 0.8 s with the anti-join).
    """
    by_field = LicenseAssignment._meta.get_field("granted_by").target_field
    source_qs = (
        user_qs.filter(is_active=True)
        .annotate(_portal=is_portal_user_expression())
        .filter(_portal=product.type == ProductType.PORTAL)
        # Annotated in column order: older Django selects annotations in the order added.
        .annotate(
            _a_user=F("pk"),
            _a_code=Value(product.code, output_field=CharField()),
            _a_seat=Value(True, output_field=BooleanField()),
            _a_at=Value(now, output_field=DateTimeField()),
            _a_by=Value(by.pk if by else None, output_field=by_field),
            _a_source=Value(source, output_field=CharField()),
        )
        .values_list("_a_user", "_a_code", "_a_seat", "_a_at", "_a_by", "_a_source")
    )
    db = router.db_for_write(LicenseAssignment)
    connection = connections[db]
    select_sql, params = source_qs.query.get_compiler(connection=connection).as_sql()
    meta = LicenseAssignment._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column)
        for name in ("user", "product_code", "has_seat", "granted_at", "granted_by", "source")
    )
    conflict = ", ".join(quote(meta.get_field(name).column) for name in ("user", "product_code"))
    # The SELECT always has a WHERE clause (is_active), which SQLite's upsert syntax needs.
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns}) {select_sql} "  # noqa: S608
           f"ON CONFLICT ({conflict}) DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def grant(users, product_codes, *, by=None, source=AssignmentSource.MANUAL, today=None):
    """Grant products to users under the seat rules (docs: "Seat rules").

    All-or-nothing per product: a product without enough seats for every user newly granted it
    is refused (with the seats needed and available) while the other products are granted.
    Users already holding a product are skipped; inactive users are skipped; portal products go
    to portal users only, others to non-portal users only. Runs in a constant number of queries
    per product, however many users are selected.
    """
    codes = _codes(product_codes)
    by = _real_user(by)
    result = GrantResult()
    User = get_user_model()
    with transaction.atomic():
        state = LicensingState.lock()
        if state.demo_mode:
            raise GrantError(_("No license is installed (demo mode), so there is nothing to "
                               "grant. Upload a license file first."))
        today = today or site_today()
        products = {
            p.code: p
            for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes
            ).with_usage()
        }
        user_qs = _user_queryset(users)
        rows = list(
            user_qs.annotate(_portal=is_portal_user_expression()).values_list(
                "pk", User.USERNAME_FIELD, "is_active", "_portal"
            )
        )
        held = set(
            LicenseAssignment.objects.filter(
                user_id__in=user_qs.values("pk"), product_code__in=codes
            ).values_list("user_id", "product_code")
        )
        result.inactive = [name for _pk, name, active, _p in rows if not active]
        now = timezone.now()
        granted_any = False
        for code in codes:
            product = products.get(code)
            if product is None:
                result.refused[code] = _(
                    "%(code)s is not a product of the installed license, so it cannot be "
                    "granted. Check the code on the License manager page."
                ) % {"code": code}
                continue
            result.names[code] = product.name
            result.types[code] = product.type
            if not product.is_valid_on(today):
                result.refused[code] = _(
                    "%(product)s is valid from %(from)s until %(until)s, so it cannot be "
                    "granted today. Ask your vendor for a renewed license file."
                ) % {"product": f"{product.name} ({code})", "from": product.valid_from,
                     "until": product.valid_until}
                continue
            wants_portal = product.type == ProductType.PORTAL
            new, already, wrong = [], [], []
            for pk, name, active, portal in rows:
                if not active:
                    continue
                if bool(portal) != wants_portal:
                    wrong.append(name)
                elif (pk, code) in held:
                    already.append(name)
                else:
                    new.append(name)
            result.already[code] = already
            result.wrong_type[code] = wrong
            if product.counts_seats and len(new) > product.available:
                result.refused[code] = ngettext(
                    "%(product)s was not granted: %(needed)d seat is needed but only "
                    "%(available)d of %(seats)d is available. Recall it from other users or "
                    "ask your vendor for more seats.",
                    "%(product)s was not granted: %(needed)d seats are needed but only "
                    "%(available)d of %(seats)d are available. Recall it from other users or "
                    "ask your vendor for more seats.", len(new),
                ) % {"product": f"{product.name} ({code})", "needed": len(new),
                     "available": product.available, "seats": product.seats}
                continue
            if new:
                inserted = _insert_assignments(user_qs, product, by, source, now)
                if inserted != len(new):  # pragma: no cover - the lock makes this impossible
                    raise GrantError(_("The users changed while licenses were granted. "
                                       "Nothing was changed; try again."))
                granted_any = True
            result.granted[code] = new
        if granted_any:
            state.bump_version()
            _log(state, ACTION_GRANT, by, {
                "source": str(source),
                "granted": {code: {"count": len(names), "users": names[:NAMES_SHOWN]}
                            for code, names in result.granted.items() if names},
                "refused": {code: str(reason) for code, reason in result.refused.items()},
            })
            _run_hooks(AFTER_LICENSES_GRANTED, user=by, result=result)
    return result


def recall(users, product_codes, *, by=None, source=AssignmentSource.MANUAL):
    """Recall products from users. Never fails for seat reasons; recalling what a user does
    not hold changes nothing. Freed seats go to over-allocated holders without one."""
    codes = _codes(product_codes)
    by = _real_user(by)
    result = RecallResult()
    User = get_user_model()
    with transaction.atomic():
        state = LicensingState.lock()
        user_qs = _user_queryset(users)
        assignments = LicenseAssignment.objects.filter(
            user_id__in=user_qs.values("pk"), product_code__in=codes
        )
        pairs = list(assignments.order_by("product_code", "user_id").values_list(
            "product_code", f"user__{User.USERNAME_FIELD}"))
        if not pairs:
            return result
        for code, name in pairs:
            result.recalled.setdefault(code, []).append(name)
        if state.installed_file_id:
            result.names = dict(LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=list(result.recalled)
            ).values_list("code", "name"))
        assignments.delete()
        # A recalled concurrent license frees the slots its sessions held, so the seat counts
        # a manager sees are right at once, not after those users' next request.
        ConcurrentSession.objects.filter(user_id__in=user_qs.values("pk"),
                                         product_code__in=list(result.recalled)).delete()
        if state.installed_file_id:
            _reallocate(state.installed_file_id, result.recalled)
        state.bump_version()
        _log(state, ACTION_RECALL, by, {
            "source": str(source),
            "recalled": {code: {"count": len(names), "users": names[:NAMES_SHOWN]}
                         for code, names in result.recalled.items()},
        })
        _run_hooks(AFTER_LICENSES_RECALLED, user=by, result=result)
    return result


def user_status_changed(user, *, by=None, deleted_codes=None):
    """A user was deactivated, reactivated or deleted: seats follow at once (seat rule 1)."""
    with transaction.atomic():
        state = LicensingState.lock()
        if deleted_codes is None:
            codes = list(LicenseAssignment.objects.filter(user=user).values_list(
                "product_code", flat=True))
        else:
            codes = list(deleted_codes)
        if not codes:
            return
        if state.installed_file_id:
            _reallocate(state.installed_file_id, codes)
        state.bump_version()
        if deleted_codes is not None:
            event = "deleted"
        else:
            event = "activated" if user.is_active else "deactivated"
        _log(state, ACTION_USER_STATUS, by, {
            "event": event, "user": user.get_username(), "user_id": str(user.pk),
            "products": codes,
        })


def users_status_changed(users, *, by=None):
    """Many users were activated or deactivated by one ``UPDATE`` (Wagtail's "Set active
    state" bulk action), so no ``post_save`` reached ``user_status_changed``: seats follow at
    once all the same. One reallocation and one version bump for all of them; an audit log
    entry for each user who holds a license, as ``user_status_changed`` writes."""
    with transaction.atomic():
        state = LicensingState.lock()
        user_qs = _user_queryset(users)
        held = {}
        for user_id, code in LicenseAssignment.objects.filter(
                user_id__in=user_qs.values("pk")).values_list("user_id", "product_code"):
            held.setdefault(user_id, []).append(code)
        if not held:
            return
        if state.installed_file_id:
            _reallocate(state.installed_file_id, {c for codes in held.values() for c in codes})
        state.bump_version()
        for user in user_qs.order_by("pk"):
            if user.pk in held:
                _log(state, ACTION_USER_STATUS, by, {
                    "event": "activated" if user.is_active else "deactivated",
                    "user": user.get_username(), "user_id": str(user.pk),
                    "products": held[user.pk],
                })


# Portal users ------------------------------------------------------------------------------


@dataclass
class PortalUserResult:
    """A portal user account created or converted, and what was granted or recalled."""

    user: object
    granted: GrantResult | None = None
    recalled: RecallResult | None = None

    def messages(self):
        out = []
        if self.recalled is not None and self.recalled.recalled:
            out.extend(self.recalled.messages())
        if self.granted is not None:
            out.extend(self.granted.messages())
        return out


def portal_conversion_refusal(user):
    """Why ``user`` cannot be converted into a portal user, or None. Changes nothing."""
    if PortalUser.objects.filter(user_id=user.pk).exists():
        return _("%(user)s is already a portal user.") % {"user": user.get_username()}
    reason = _admin_access_reason(user)
    if reason:
        return _("%(reason)s Portal users can never use the Wagtail admin, so this account "
                 "cannot become one.") % {"reason": reason}
    return None


def _admin_access_reason(user):
    """Why ``user`` counts as an admin user (who must never become a portal user), or None.

    Reads permissions from the database rather than ``has_perm``, which answers False for
    inactive users whatever their groups allow.
    """
    if getattr(user, "is_superuser", False):
        return _("%(user)s is a superuser.") % {"user": user.get_username()}
    if getattr(user, "is_staff", False):
        return _("%(user)s is a staff member (Django admin access).") % {
            "user": user.get_username()}
    condition = Q()
    if hasattr(user, "user_permissions"):
        condition |= Q(user=user)
    if hasattr(user, "groups"):
        condition |= Q(group__in=user.groups.all())
    if condition and Permission.objects.filter(
        condition, content_type__app_label="wagtailadmin", codename="access_admin"
    ).exists():
        return _("%(user)s can access the Wagtail admin through their groups or permissions. "
                 "Remove that access first.") % {"user": user.get_username()}
    return None


def create_portal_user(*, email, first_name="", last_name="", username=None, product_codes=(),
                       by=None, today=None):
    """Create a portal user account and grant it portal products, all or nothing.

    The account gets no password (the site's password reset or invitation sets one) and no
    groups. If any product cannot be granted (no seat left, not a portal product, not valid
    today) nothing is created and ``PortalUserError`` says why.
    """
    User = get_user_model()
    by = _real_user(by)
    codes = _codes(product_codes)
    email = (email or "").strip()
    if hasattr(User._default_manager, "normalize_email"):
        email = User._default_manager.normalize_email(email)
    if not email:
        raise PortalUserError(_("Enter the portal user's e-mail address."))
    username = (username or "").strip() or email
    username_field = User.USERNAME_FIELD
    with transaction.atomic():
        state = LicensingState.lock()
        email_field = User.get_email_field_name()
        if User._default_manager.filter(**{f"{email_field}__iexact": email}).exists():
            raise PortalUserError(
                _("A user with the e-mail address %(email)s already exists. To make that "
                  "account a portal user, use “Convert to portal user” on it.")
                % {"email": email})
        if User._default_manager.filter(**{f"{username_field}__iexact": username}).exists():
            raise PortalUserError(_("The username %(username)s is taken. Choose another one.")
                                  % {"username": username})
        fields = {username_field: username, email_field: email}
        for name, value in (("first_name", first_name), ("last_name", last_name)):
            if has_field(User, name):
                fields[name] = (value or "").strip()
        user = User(**fields)
        user.set_unusable_password()
        try:
            user.full_clean(exclude=["password", "last_login"], validate_unique=False)
        except ValidationError as error:
            raise PortalUserError(" ".join(
                f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
                for name, messages in error.message_dict.items()
            )) from error
        user.save()
        PortalUser.objects.create(user=user, created_by=by)
        result = PortalUserResult(user=user)
        if codes:
            granted = grant(User._default_manager.filter(pk=user.pk), codes, by=by,
                            source=AssignmentSource.PORTAL, today=today)
            problems = [str(reason) for reason in granted.refused.values()]
            problems += [
                _("%(product)s is not a portal product, so portal users cannot hold it.")
                % {"product": granted._label(code)}
                for code, users in granted.wrong_type.items() if users
            ]
            if problems:
                raise PortalUserError(
                    _("The portal user was not created: %(problems)s")
                    % {"problems": " ".join(problems)})
            result.granted = granted
        state.bump_version()
        _log(state, ACTION_PORTAL_USER, by, {
            "event": "created", "user": user.get_username(), "user_id": str(user.pk),
            "products": [code for code, names in (result.granted.granted.items()
                                                  if result.granted else []) if names],
        })
        _run_hooks(AFTER_PORTAL_USER_CREATED, user=by, portal_user=user, result=result)
    return result


def convert_to_portal_user(user, *, by=None):
    """Make an existing non-admin user a portal user.

    Superusers, staff and users with Wagtail admin access are refused (``PortalUserError``):
    a portal user never reaches the admin. Licenses portal users cannot hold (named and
    concurrent products) are recalled in the same transaction.
    """
    User = get_user_model()
    by = _real_user(by)
    with transaction.atomic():
        state = LicensingState.lock()
        user = User._default_manager.get(pk=user.pk)
        refusal = portal_conversion_refusal(user)
        if refusal:
            raise PortalUserError(refusal)
        portal_codes = set()
        if state.installed_file_id:
            portal_codes = set(LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, type=ProductType.PORTAL,
            ).values_list("code", flat=True))
        other_codes = [code for code in LicenseAssignment.objects.filter(user=user)
                       .order_by("product_code").values_list("product_code", flat=True)
                       if code not in portal_codes]
        result = PortalUserResult(user=user)
        if other_codes:
            result.recalled = recall(User._default_manager.filter(pk=user.pk), other_codes,
                                     by=by, source=AssignmentSource.PORTAL)
        PortalUser.objects.create(user=user, created_by=by)
        state.bump_version()
        _log(state, ACTION_PORTAL_USER, by, {
            "event": "converted", "user": user.get_username(), "user_id": str(user.pk),
            "recalled": other_codes,
        })
        _run_hooks(AFTER_PORTAL_USER_CREATED, user=by, portal_user=user, result=result)
    return result


# Import ------------------------------------------------------------------------------------


def preview_import(rows, *, today=None):
    """Step 1 of an import, the dry run: what ``rows`` would change and every row error.

    ``rows`` is a ``resources.AssignmentFile`` (from ``resources.read_assignments``) or a list
    of ``resources.ImportRow``. Returns an ``importing.ImportPlan``; changes nothing.
    """
    from .importing import build_plan

    return build_plan(rows, LicensingState.get(), today=today)


@dataclass
class ImportResult:
    """What a confirmed import did: ``granted`` and ``recalled`` count users per product."""

    plan: object  # importing.ImportPlan
    granted: dict = field(default_factory=dict)  # code -> count
    recalled: dict = field(default_factory=dict)  # code -> count

    @property
    def granted_count(self):
        return sum(self.granted.values())

    @property
    def recalled_count(self):
        return sum(self.recalled.values())

    @property
    def unchanged_count(self):
        return self.plan.unchanged

    def messages(self):
        """``(level, text)`` pairs, like ``GrantResult.messages()``."""
        out = []
        for code, count in self.granted.items():
            out.append(("success", ngettext(
                "Granted %(product)s to %(count)d user.",
                "Granted %(product)s to %(count)d users.", count,
            ) % {"product": self.plan.products[code].label, "count": count}))
        for code, count in self.recalled.items():
            out.append(("success", ngettext(
                "Recalled %(product)s from %(count)d user.",
                "Recalled %(product)s from %(count)d users.", count,
            ) % {"product": self.plan.products[code].label, "count": count}))
        unchanged = self.unchanged_count
        if unchanged or not out:
            out.append(("success" if out else "info", ngettext(
                "%(count)d row unchanged: the assignment was already as the file says.",
                "%(count)d rows unchanged: the assignments were already as the file says.",
                unchanged,
            ) % {"count": unchanged}))
        return out


def import_assignments(rows, *, by=None, expected_version=None, today=None):
    """Step 2 of an import: apply ``rows`` in one transaction, all or nothing.

    Plans again under the licensing lock, whatever a preview said; if any row is in error,
    raises ``ImportRefused`` (with the plan) and changes nothing. With ``expected_version``
    (the ``plan.version`` a manager previewed), raises ``ImportOutdated`` when licensing has
    changed since, so that what is applied is what was shown.

    Recalls first (their seats are reallocated), then grants through ``_insert_assignments``:
    the rules of ``grant`` hold, in a bounded number of queries per batch of rows. Logs one
    ``wagtail_licensing.import`` entry with the counts (also when every row was unchanged).
    When something changed, calls the ``after_licenses_recalled`` and ``after_licenses_granted``
    hooks as a recall or grant would, then ``after_licenses_imported`` with the
    ``ImportResult``.
    """
    from .importing import batch_size, build_plan

    by = _real_user(by)
    User = get_user_model()
    with transaction.atomic():
        state = LicensingState.lock()
        if expected_version is not None and state.version != expected_version:
            raise ImportOutdated(_("Licenses were changed since this import was previewed. "
                                   "Check the new preview and confirm again."))
        plan = build_plan(rows, state, today=today)
        if plan.has_errors:
            raise ImportRefused(plan.error_summary(), plan=plan)
        result = ImportResult(plan=plan)
        size = batch_size()
        recall_result, grant_result = RecallResult(), GrantResult()
        for code, target in plan.products.items():
            if not target.recall_ids:
                continue
            removed = 0
            for start in range(0, len(target.recall_ids), size):
                chunk = target.recall_ids[start:start + size]
                removed += LicenseAssignment.objects.filter(
                    product_code=code, user_id__in=chunk).delete()[0]
            if removed != target.to_recall:  # pragma: no cover - the lock makes this impossible
                raise GrantError(_("The assignments changed while the file was imported. "
                                   "Nothing was changed; try again."))
            result.recalled[code] = removed
            recall_result.recalled[code] = target.recall_names
            recall_result.names[code] = target.name
        if result.recalled and state.installed_file_id:
            _reallocate(state.installed_file_id, result.recalled)
        now = timezone.now()
        for code, target in plan.products.items():
            if not target.grant_ids:
                continue
            inserted = 0
            for start in range(0, len(target.grant_ids), size):
                chunk = target.grant_ids[start:start + size]
                inserted += _insert_assignments(User._default_manager.filter(pk__in=chunk),
                                                target.product, by, AssignmentSource.IMPORT,
                                                now)
            if inserted != target.to_grant:  # pragma: no cover - the lock makes this impossible
                raise GrantError(_("The users changed while the file was imported. Nothing "
                                   "was changed; try again."))
            result.granted[code] = inserted
            grant_result.granted[code] = target.grant_names
            grant_result.names[code] = target.name
            grant_result.types[code] = target.type
        if result.granted or result.recalled:
            state.bump_version()
        _log(state, ACTION_IMPORT, by, {
            "source": str(AssignmentSource.IMPORT),
            "filename": plan.filename,
            "format": plan.format,
            "rows": plan.rows,
            "granted": {code: {"count": n, "users": plan.products[code].grant_names[
                :NAMES_SHOWN]} for code, n in result.granted.items()},
            "recalled": {code: {"count": n, "users": plan.products[code].recall_names[
                :NAMES_SHOWN]} for code, n in result.recalled.items()},
            "unchanged": plan.unchanged,
        })
        if result.recalled:
            _run_hooks(AFTER_LICENSES_RECALLED, user=by, result=recall_result)
        if result.granted:
            _run_hooks(AFTER_LICENSES_GRANTED, user=by, result=grant_result)
        if result.granted or result.recalled:
            _run_hooks(AFTER_LICENSES_IMPORTED, user=by, result=result)
    return result


# License request ---------------------------------------------------------------------------


@dataclass
class LicenseRequest:
    filename: str
    data: dict

    @property
    def content(self):
        return (json.dumps(self.data, indent=2) + "\n").encode("utf-8")

    content_type = "application/json"


def create_license_request(*, user=None, company_id=None, license_version=None, site=None):
    """Build the ``.tlr`` file a manager sends to the vendor, and log it."""
    from wagtail.models import Site

    with transaction.atomic():
        state = LicensingState.get()
        installed = state.installed_file
        company_id = (company_id or (installed.company_id if installed else "")
                      or licensing_settings.COMPANY_ID or "").strip()
        if not company_id:
            raise InvalidLicenseRequest(_("Enter the company ID your vendor gave you: it is "
                                          "needed to issue your license."))
        license_version = (license_version or default_license_version()).strip()
        site = site or Site.objects.filter(is_default_site=True).first()
        products = []
        if installed:
            for product in LicensedProduct.objects.filter(license_file=installed).with_usage():
                products.append({"code": product.code, "type": product.type,
                                 "seats": product.seats, "used": product.in_use})
        now = timezone.now()
        acting = _real_user(user)
        data = {
            "type": "wagtail-licensing/license-request",
            "format": 1,
            "company_id": company_id,
            "instance_id": str(state.instance_id),
            "license_version": license_version,
            "generated_at": now.isoformat(),
            "generated_by": acting.get_username() if acting else None,
            "site": {"name": site.site_name if site else None,
                     "hostname": site.hostname if site else None},
            "installed_license_id": installed.license_id if installed else None,
            "usage": products,
            "active_users": get_user_model()._default_manager.filter(is_active=True).count(),
            "software": {"wagtail-licensing": __version__, "wagtail": wagtail.__version__,
                         "django": django.get_version(), "python": platform.python_version()},
        }
        request = LicenseRequest(
            filename=safe_filename(f"LicenseRequest-{company_id}-{site_date(now):%Y%m%d}.tlr"),
            data=data)
        _log(state, ACTION_REQUEST, user, {"company_id": company_id,
                                           "license_version": license_version,
                                           "filename": request.filename})
        request.hook_results = _run_hooks(AFTER_LICENSE_REQUEST_CREATED, user=user,
                                          request=request)
    return request


def default_license_version():
    return __version__


# Concurrent slots --------------------------------------------------------------------------
# A user whose admin access comes from a concurrent product holds a slot per signed-in session
# (``ConcurrentSession``, keyed by a random token kept in the session). Slots are freed at
# logout, by a license manager, or after ``CONCURRENT_IDLE_MINUTES`` without requests. Taking
# and releasing slots changes no other user's access, so only a manager's release bumps the
# state version (the released session must notice at once).


def take_concurrent_slot(user, product_codes, *, token, now=None):
    """Give the session ``token`` a slot of the first of ``product_codes`` with one free.

    Runs under the licensing lock, so that racing logins never take more slots than a product
    has. Frees idle slots and slots of users who no longer hold the product first. Raises
    ``NoFreeSlot`` (its message names the products) when every slot is taken.
    """
    codes = _codes(product_codes)
    now = now or timezone.now()
    with transaction.atomic():
        state = LicensingState.lock()
        if state.demo_mode or not codes:
            raise NoFreeSlot(_("No concurrent license is installed for your account."))
        today = site_today()
        grace = timedelta(days=licensing_settings.GRACE_DAYS)
        products = {
            p.code: p for p in LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, code__in=codes,
                type=ProductType.CONCURRENT)
            if p.valid_from <= today <= p.valid_until + grace
        }
        held = set(LicenseAssignment.objects.with_seat().filter(
            user_id=user.pk, product_code__in=codes,
        ).values_list("product_code", flat=True))
        (ConcurrentSession.objects.idle(now)
         | ConcurrentSession.objects.filter(session_key=token)).delete()
        ConcurrentSession.objects.filter(product_code__in=codes).exclude(Exists(
            LicenseAssignment.objects.with_seat().filter(
                user_id=OuterRef("user_id"), product_code=OuterRef("product_code")))).delete()
        used = dict(ConcurrentSession.objects.filter(product_code__in=codes).order_by()
                    .values_list("product_code").annotate(n=Count("pk")))
        full = []
        for code in codes:
            product = products.get(code)
            if product is None or code not in held:
                continue
            if product.seats is None or used.get(code, 0) < product.seats:
                return ConcurrentSession.objects.create(
                    user_id=user.pk, product_code=code, session_key=token, started_at=now,
                    last_seen=now)
            full.append(product)
        if not full:
            raise NoFreeSlot(_("Your account holds no valid concurrent license."))
        raise NoFreeSlot(_names_of_full(full))


def _names_of_full(products):
    labels = get_text_list([f"{p.name}" for p in products], _("and"))
    seats = sum(p.seats for p in products)
    return ngettext(
        "All %(seats)d concurrent license of %(products)s is in use, so you cannot sign in "
        "now. Try again when someone signs out, or ask a license manager to release a slot.",
        "All %(seats)d concurrent licenses of %(products)s are in use, so you cannot sign in "
        "now. Try again when someone signs out, or ask a license manager to release a slot.",
        seats,
    ) % {"seats": seats, "products": labels}


def touch_concurrent_slot(token, *, user, product_codes, now=None):
    """Record that the session ``token`` is still in use; the code of its slot, or None when
    the slot is gone (idle, released, or no longer one of ``product_codes``)."""
    now = now or timezone.now()
    slot = ConcurrentSession.objects.live(now).filter(
        session_key=token, user_id=user.pk, product_code__in=_codes(product_codes),
    ).values_list("pk", "product_code").first()
    if slot is None:
        return None
    ConcurrentSession.objects.filter(pk=slot[0]).update(last_seen=now)
    return slot[1]


def end_concurrent_session(token):
    """The session signed out: free its slot (routine, so not written to the audit log)."""
    if token:
        ConcurrentSession.objects.filter(session_key=token).delete()


def release_concurrent_slots(sessions, *, by=None):
    """A license manager releases slots: their sessions lose admin access on their next
    request. ``sessions`` are ``ConcurrentSession`` objects or primary keys. Returns the
    released sessions' ``(username, product_code)`` pairs."""
    pks = [getattr(s, "pk", s) for s in sessions]
    by = _real_user(by)
    User = get_user_model()
    with transaction.atomic():
        state = LicensingState.lock()
        rows = list(ConcurrentSession.objects.filter(pk__in=pks).order_by("pk").values_list(
            "session_key", f"user__{User.USERNAME_FIELD}", "product_code"))
        if not rows:
            return []
        ConcurrentSession.objects.filter(pk__in=pks).delete()
        state.bump_version()
        released = [(name, code) for _token, name, code in rows]
        _log(state, ACTION_RELEASE, by, {
            "released": [{"user": name, "product": code} for name, code in released],
        })
        tokens = [token for token, _name, _code in rows]
        transaction.on_commit(lambda: cache.mark_released(tokens))
        _run_hooks(AFTER_CONCURRENT_SLOTS_RELEASED, user=by, released=released)
    return released


