"""Planning an assignments import: what each row would do, and every reason it cannot.

Read-only. ``actions.imports.PreviewImportAction`` runs it as the dry run; ``ImportAction``
runs it again under the licensing lock and applies the plan only when it has no error. It reuses
the seat arithmetic of ``LicensedProduct.with_usage()`` and the eligibility rule of the models
(``LicensedProduct.is_grantable_on`` and ``ineligibility``: active users only, portal products
to portal users only, validity dates) with the all-or-nothing per product of a grant, so an
import can never do what a grant would refuse.

Rows are handled in batches with a fixed number of queries per batch (users by username, the
misses by e-mail or case-insensitively, and the batch's users' assignments), so the query count
grows with the number of batches, never with the number of rows in a batch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .conf import licensing_settings
from .dates import format_day, site_today
from .formats.reading import AssignmentFile, ImportRow
from .models import (
    Ineligibility,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    is_portal_user_expression,
)
from .rules.labels import product_label


class RowAction(StrEnum):
    """The action cell of a row (empty means grant)."""

    GRANT = "grant"
    RECALL = "recall"


GRANT = RowAction.GRANT
RECALL = RowAction.RECALL
ACTIONS = tuple(RowAction)

#: How many errors a plan keeps to show (it always counts them all).
ERRORS_KEPT = 1000

class RowErrorCode(StrEnum):
    """Error codes, stable for code that inspects plans (equal to their strings)."""

    MISSING_USER = "missing_user"
    UNKNOWN_USER = "unknown_user"
    AMBIGUOUS_USER = "ambiguous_user"
    MISSING_PRODUCT = "missing_product"
    UNKNOWN_PRODUCT = "unknown_product"
    INVALID_ACTION = "invalid_action"
    DUPLICATE = "duplicate"  # no longer raised: the last row for a user and product wins
    INACTIVE_USER = "inactive_user"
    TYPE_MISMATCH = "type_mismatch"
    PRODUCT_NOT_VALID = "product_not_valid"
    NOT_ENOUGH_SEATS = "not_enough_seats"


# The module-level names code already inspects plans with.
MISSING_USER = RowErrorCode.MISSING_USER
UNKNOWN_USER = RowErrorCode.UNKNOWN_USER
AMBIGUOUS_USER = RowErrorCode.AMBIGUOUS_USER
MISSING_PRODUCT = RowErrorCode.MISSING_PRODUCT
UNKNOWN_PRODUCT = RowErrorCode.UNKNOWN_PRODUCT
INVALID_ACTION = RowErrorCode.INVALID_ACTION
DUPLICATE = RowErrorCode.DUPLICATE
INACTIVE_USER = RowErrorCode.INACTIVE_USER
TYPE_MISMATCH = RowErrorCode.TYPE_MISMATCH
PRODUCT_NOT_VALID = RowErrorCode.PRODUCT_NOT_VALID
NOT_ENOUGH_SEATS = RowErrorCode.NOT_ENOUGH_SEATS

_AMBIGUOUS = object()

#: A user found for an import cell: ``(pk, username, is_active, is_portal)``.
UserRow = tuple[Any, str, bool, bool]

T = TypeVar("T")


def batch_size(model: type[Model] = LicenseAssignment) -> int:
    """Rows per batch: as many as one ``IN (...)`` list may hold on the database (the e-mail
    look-up uses each value twice), at most 2,000."""
    return min(2000, max_query_params(router.db_for_read(model)) // 2 - 50)


def max_query_params(alias: str) -> int:
    """Parameters one query may take. Django assumes 999 for SQLite, the limit of SQLite
    before 3.32; the library in use says what it really allows (usually 32,766 or more)."""
    connection = connections[alias]
    limit = connection.features.max_query_params
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        try:
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):  # Python < 3.11
            pass
    return limit or 65535


@dataclass
class RowError:
    """A reason the import cannot be applied. ``row`` is None for a product-wide error."""

    row: int | None
    code: RowErrorCode
    message: str
    user: str = ""
    product: str = ""

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        return _("Row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


@dataclass
class ProductPlan:
    """What the import does to one product."""

    code: str
    product: LicensedProduct | None = None  # None: not in the installed license
    grant_ids: list[int] = field(default_factory=list)
    grant_names: list[str] = field(default_factory=list)
    recall_ids: list[int] = field(default_factory=list)
    recall_names: list[str] = field(default_factory=list)
    recall_active: int = 0  # recalled holders who are active (they free seats)
    unchanged: int = 0
    # Of the unchanged grants: users who hold the product through a group only (reported as
    # such, not as duplicates; the import does not change where their seat comes from).
    via_group: int = 0
    available_after: int | None = None

    @property
    def name(self) -> str:
        return self.product.name if self.product else ""

    @property
    def type(self) -> str:
        return self.product.type if self.product else ""

    @property
    def seats(self) -> int | None:
        return self.product.seats if self.product else None

    @property
    def available(self) -> int | None:
        """Seats available before the import (None: unlimited or per session)."""
        if self.product is None or not self.product.counts_seats:
            return None
        return self.product.available

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)

    @property
    def to_grant(self) -> int:
        return len(self.grant_ids)

    @property
    def to_recall(self) -> int:
        return len(self.recall_ids)


@dataclass
class ImportPlan:
    """A dry run of an import: per product what changes, and every row error."""

    filename: str = ""
    format: str = ""
    rows: int = 0
    products: dict[str, ProductPlan] = field(default_factory=dict)  # in order of appearance
    errors: list[RowError] = field(default_factory=list)  # the first ERRORS_KEPT
    error_count: int = 0
    version: int | None = None  # the licensing state version the plan was made against
    demo_mode: bool = False
    # Rows whose user was found by e-mail (``IMPORT_MATCH_EMAIL``): (row, cell, username), the
    # first ERRORS_KEPT, and how many there are. The preview marks them: an e-mail is not proof
    # of identity (editors can change their own without verification).
    matched_by_email: list[tuple[int | None, str, str]] = field(default_factory=list)
    matched_by_email_count: int = 0
    # Rows replaced by a later row for the same user and product (a file edited by hand: a
    # "recall" row added under the export's row): (row, later row, username, product code),
    # the first ERRORS_KEPT, and how many there are. The last row for a pair wins.
    superseded: list[tuple[int, int, str, str]] = field(default_factory=list)
    superseded_count: int = 0

    @property
    def has_errors(self) -> bool:
        return self.error_count > 0

    @property
    def to_grant(self) -> int:
        return sum(p.to_grant for p in self.products.values())

    @property
    def to_recall(self) -> int:
        return sum(p.to_recall for p in self.products.values())

    @property
    def unchanged(self) -> int:
        return sum(p.unchanged for p in self.products.values())

    @property
    def has_changes(self) -> bool:
        return bool(self.to_grant or self.to_recall)

    @property
    def errors_left_out(self) -> int:
        return self.error_count - len(self.errors)

    def add_error(self, row: int | None, code: RowErrorCode, message: str, user: str = "",
                  product: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(RowError(row=row, code=code, message=message, user=user,
                                        product=product))

    @property
    def via_group(self) -> int:
        return sum(p.via_group for p in self.products.values())

    def summary(self) -> str:
        text = _("%(grant)d to grant, %(recall)d to recall, %(unchanged)d unchanged") % {
            "grant": self.to_grant, "recall": self.to_recall, "unchanged": self.unchanged}
        if self.via_group:
            text += " " + ngettext(
                "(%(count)d of them holds the product through a group)",
                "(%(count)d of them hold the product through a group)",
                self.via_group) % {"count": self.via_group}
        return text

    def error_summary(self) -> str:
        return ngettext(
            "%(count)d error: nothing can be imported until it is corrected.",
            "%(count)d errors: nothing can be imported until they are corrected.",
            self.error_count,
        ) % {"count": self.error_count}


class _UserIndex:
    """Import cells (usernames, or e-mails when ``match_email``) to ``(pk, username,
    is_active, is_portal)``.

    Filled a batch at a time: one query for exact usernames, one for the misses (username
    case-insensitively, and e-mail when allowed). Kept across batches: users recur in files,
    one row per product they hold. Matching by e-mail is off unless ``IMPORT_MATCH_EMAIL``
    says so: Wagtail lets users change their own e-mail without verification, so an editor
    could give themselves a new hire's address and be granted the new hire's license.
    """

    def __init__(self, *, match_email: bool = False) -> None:
        User = get_user_model()
        self.model = User
        self.username = User.USERNAME_FIELD
        email = User.get_email_field_name()
        self.email: str | None = None
        if match_email and email != self.username:
            try:
                User._meta.get_field(email)
                self.email = email
            except FieldDoesNotExist:
                pass
        self.known: dict[str, UserRow | object | None] = {}
        self.by_email: set[str] = set()  # cells that matched an e-mail, not a username

    def _base(self) -> QuerySet[Any]:
        return self.model._default_manager.order_by().annotate(
            _portal=is_portal_user_expression())

    def resolve(self, values: Iterable[str]) -> None:
        todo = list({v for v in values if v and v not in self.known})
        if not todo:
            return
        columns = ("pk", self.username, "is_active", "_portal")
        for pk, name, active, portal in self._base().filter(
                **{f"{self.username}__in": todo}).values_list(*columns):
            self.known[name] = (pk, name, active, bool(portal))
        misses: dict[str, list[str]] = {}
        for value in todo:
            if value not in self.known:
                misses.setdefault(value.lower(), []).append(value)
        if not misses:
            return
        lowered = list(misses)
        qs = self._base().annotate(_l_username=Lower(self.username))
        condition = Q(_l_username__in=lowered)
        if self.email:
            qs = qs.annotate(_l_email=Lower(self.email))
            condition |= Q(_l_email__in=lowered)
            extra: tuple[str, ...] = ("_l_username", "_l_email")
        else:
            extra = ("_l_username",)
        by_username: dict[str, set[UserRow]] = {}
        by_email: dict[str, set[UserRow]] = {}
        for found in qs.filter(condition).values_list(*columns, *extra):
            user = (found[0], found[1], found[2], bool(found[3]))
            if found[4] in misses:
                by_username.setdefault(found[4], set()).add(user)
            if len(found) > 5 and found[5] in misses:
                by_email.setdefault(found[5], set()).add(user)
        for key, values_ in misses.items():
            candidates = by_username.get(key) or set()
            if not candidates and by_email.get(key):
                candidates = by_email[key]
                self.by_email.update(values_)
            found_user: UserRow | object | None
            if len(candidates) == 1:
                found_user = next(iter(candidates))
            elif candidates:
                found_user = _AMBIGUOUS
            else:
                found_user = None
            for value in values_:
                self.known[value] = found_user

    def get(self, value: str) -> UserRow | object | None:
        return self.known.get(value)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def build_plan(rows: Sequence[ImportRow] | AssignmentFile, state: LicensingState, *,
               filename: str = "", format: str = "", today: date | None = None) -> ImportPlan:
    """Plan an import of ``rows`` (``ImportRow``s, or an ``AssignmentFile``) against ``state``.

    Changes nothing. Every row either changes something, is unchanged (the user already holds
    the product it grants, or does not hold the product it recalls), or is an error.
    """
    if hasattr(rows, "rows"):  # an AssignmentFile
        file = cast(AssignmentFile, rows)
        filename = filename or file.filename
        format = format or file.format
        rows = file.rows
    today = today or site_today()
    plan = ImportPlan(filename=filename, format=format, rows=len(rows), version=state.version,
                      demo_mode=state.demo_mode)
    installed: dict[str, LicensedProduct] = {}
    if state.installed_file_id:
        installed = {p.code: p for p in LicensedProduct.objects.filter(
            license_file_id=state.installed_file_id).with_usage()}
    # Codes that assignments exist for, although no installed product has them (an earlier
    # license file's): recalling them is fine, and holding them is "unchanged".
    held_codes = set(LicenseAssignment.objects.order_by().values_list(
        "product_code", flat=True).distinct())
    codes = {code: code for code in held_codes | set(installed)}
    codes_folded: dict[str, list[str]] = {}
    for code in codes:
        codes_folded.setdefault(code.lower(), []).append(code)

    def product_code(text: str) -> str:
        if text in codes:
            return text
        # Spreadsheet users type "Editor" for "editor": accept it when it is unambiguous.
        folded = codes_folded.get(text.lower(), [])
        return folded[0] if len(folded) == 1 else text

    users = _UserIndex(match_email=licensing_settings.IMPORT_MATCH_EMAIL)
    size = batch_size()
    # The last row for a (user, product) pair wins, as when a file is edited by hand: a first
    # pass finds it (the user index keeps what it resolved, so the second pass asks nothing).
    last: dict[tuple[Any, str], int] = {}  # (user pk, product code) -> last row number
    for batch in _chunks(rows, size):
        users.resolve(row.user for row in batch)
        for row in batch:
            if row.product and isinstance(found := users.get(row.user), tuple):
                last[(found[0], product_code(row.product))] = row.number
    for batch in _chunks(rows, size):
        users.resolve(row.user for row in batch)
        pks = {u[0] for row in batch if isinstance(u := users.get(row.user), tuple)}
        held: dict[tuple[Any, str], bool] = {}  # (user pk, code) -> granted directly
        for chunk in _chunks(list(pks), size):
            held.update(((user_id, code), direct) for user_id, code, direct in
                        LicenseAssignment.objects.filter(user_id__in=chunk).values_list(
                            "user_id", "product_code", "direct"))
        for row in batch:
            _plan_row(plan, row, users, last, held, installed, codes, product_code,
                      today)

    _check_seats(plan)
    return plan


def _unknown_user(cell: str, users: _UserIndex) -> str:
    if users.email:
        return _("No user has the username or e-mail “%(user)s”.") % {"user": cell}
    if "@" in cell:
        return _("No user has the username “%(user)s”. Users are matched by "
                 "username: matching by e-mail is off on this site (the IMPORT_MATCH_EMAIL "
                 "setting), so use the username.") % {"user": cell}
    return _("No user has the username “%(user)s”.") % {"user": cell}


def _plan_row(plan: ImportPlan, row: ImportRow, users: _UserIndex,
              last: dict[tuple[Any, str], int], held: dict[tuple[Any, str], bool],
              installed: dict[str, LicensedProduct], known_codes: dict[str, str],
              product_code: Callable[[str], str], today: date) -> None:
    number = row.number
    action = (row.action or "").strip().lower() or GRANT
    problems: list[tuple[RowErrorCode, str]] = []
    if action not in ACTIONS:
        problems.append((INVALID_ACTION, _(
            "The action “%(action)s” is not valid: use grant or recall (an empty "
            "cell means grant).") % {"action": row.action}))
    user = None
    if not row.user:
        problems.append((MISSING_USER, _("The user cell is empty.")))
    else:
        user = users.get(row.user)
        if user is None:
            problems.append((UNKNOWN_USER, _unknown_user(row.user, users)))
        elif user is _AMBIGUOUS:
            problems.append((AMBIGUOUS_USER, _(
                "Several users match “%(user)s”: use their exact username.")
                % {"user": row.user}))
    if not row.product:
        problems.append((MISSING_PRODUCT, _("The product cell is empty.")))
    for problem_code, problem_message in problems:
        plan.add_error(number, problem_code, problem_message, user=row.user,
                       product=row.product)
    if problems or not isinstance(user, tuple):
        return

    pk, username, active, portal = user
    if row.user in users.by_email:
        plan.matched_by_email_count += 1
        if len(plan.matched_by_email) < ERRORS_KEPT:
            plan.matched_by_email.append((number, row.user, username))
    code = product_code(row.product)
    later = last.get((pk, code), number)
    if later != number:
        plan.superseded_count += 1
        if len(plan.superseded) < ERRORS_KEPT:
            plan.superseded.append((number, later, username, code))
        return
    product = installed.get(code)
    holds = (pk, code) in held

    def product_plan() -> ProductPlan:
        if code not in plan.products:
            plan.products[code] = ProductPlan(code=code, product=product)
        return plan.products[code]

    if action == RECALL:
        if holds:
            target = product_plan()
            target.recall_ids.append(pk)
            target.recall_names.append(username)
            target.recall_active += bool(active)
        elif code in known_codes:
            product_plan().unchanged += 1
        else:
            plan.add_error(number, UNKNOWN_PRODUCT, _unknown_product(code, plan.demo_mode),
                           user=row.user, product=row.product)
        return

    if holds:
        product_plan().unchanged += 1
        if not held[pk, code]:
            product_plan().via_group += 1
        return
    label = product.label if product else code
    error: RowErrorCode
    values = {"user": username, "product": label}
    problem = product.ineligibility(is_active=active, is_portal=portal) if product else None
    if product is None:
        message, error = _unknown_product(code, plan.demo_mode), UNKNOWN_PRODUCT
    elif not product.is_grantable_on(today):
        error = PRODUCT_NOT_VALID
        message = _("The product %(product)s is valid from %(from)s until %(until)s, so it "
                    "cannot be granted today.") % {
            "product": label, "from": format_day(product.valid_from),
            "until": format_day(product.valid_until)}
    elif problem is Ineligibility.INACTIVE:
        error = INACTIVE_USER
        message = _("The user %(user)s is inactive, so %(product)s cannot be granted. "
                    "Activate the account first, or remove the row.") % values
    elif problem is Ineligibility.NOT_FOR_PORTAL:
        error = TYPE_MISMATCH
        message = _("The user %(user)s is a portal user, and %(product)s is for employees "
                    "only.") % values
    elif problem is Ineligibility.PORTAL_ONLY:
        error = TYPE_MISMATCH
        message = _("The user %(user)s is an employee, and %(product)s is for portal users "
                    "only.") % values
    else:
        target = product_plan()
        target.grant_ids.append(pk)
        target.grant_names.append(username)
        return
    plan.add_error(number, error, message, user=row.user, product=row.product)


def _unknown_product(code: str, demo_mode: bool) -> str:
    if demo_mode:
        return _("No license is installed, so “%(code)s” cannot be granted. Upload a "
                 "license file first.") % {"code": code}
    return _("The code “%(code)s” is not a product of the installed license. Check "
             "the code on the License manager page.") % {"code": code}


def _check_seats(plan: ImportPlan) -> None:
    """All-or-nothing per product, as a grant: the product as a whole must have a
    seat for every user the file grants it to, counting the seats its recalls free."""
    for target in plan.products.values():
        product = target.product
        if product is None or not product.counts_seats or product.seats is None:
            continue
        if target.recall_ids:
            # Recalling reallocates: the earliest-granted active holders left keep or get the
            # seats, so what stays taken is min(seats, active holders left).
            remaining = max(product.active_holders - target.recall_active, 0)
            available = max(product.seats - min(product.seats, remaining), 0)
        else:
            available = product.available or 0  # counted seats: never None
        target.available_after = available - target.to_grant
        if target.to_grant > available:
            needed = ngettext("the file grants it to %(needed)d user",
                              "the file grants it to %(needed)d users",
                              target.to_grant) % {"needed": target.to_grant}
            free = ngettext("only %(available)d of %(seats)d seats is available",
                            "only %(available)d of %(seats)d seats are available",
                            available) % {"available": available, "seats": product.seats}
            plan.add_error(None, NOT_ENOUGH_SEATS, _(
                "%(product)s: %(needed)s, but %(available)s. Remove rows, recall it from other "
                "users or ask your vendor for more seats.",
            ) % {"product": target.label, "needed": needed, "available": free},
                product=target.code)
