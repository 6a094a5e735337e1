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
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .dates import site_today
from .models import Ineligibility, LicenseAssignment, LicensedProduct, is_portal_user_expression
from .rules.labels import product_label

GRANT = "grant"
RECALL = "recall"
ACTIONS = (GRANT, RECALL)

#: How many errors a plan keeps to show (it always counts them all).
ERRORS_KEPT = 1000

# Error codes, stable for code that inspects plans.
MISSING_USER = "missing_user"
UNKNOWN_USER = "unknown_user"
AMBIGUOUS_USER = "ambiguous_user"
MISSING_PRODUCT = "missing_product"
UNKNOWN_PRODUCT = "unknown_product"
INVALID_ACTION = "invalid_action"
DUPLICATE = "duplicate"
INACTIVE_USER = "inactive_user"
TYPE_MISMATCH = "type_mismatch"
PRODUCT_NOT_VALID = "product_not_valid"
NOT_ENOUGH_SEATS = "not_enough_seats"

_AMBIGUOUS = object()


def batch_size(model=LicenseAssignment):
    """Rows per batch: as many as one ``IN (...)`` list may hold on the database (the e-mail
    look-up uses each value twice), at most 2,000."""
    return min(2000, max_query_params(router.db_for_read(model)) // 2 - 50)


def max_query_params(alias):
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
    code: str
    message: str
    user: str = ""
    product: str = ""

    def __str__(self):
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
    available_after: int | None = None

    @property
    def name(self):
        return self.product.name if self.product else ""

    @property
    def type(self):
        return self.product.type if self.product else ""

    @property
    def seats(self):
        return self.product.seats if self.product else None

    @property
    def available(self):
        """Seats available before the import (None: unlimited or per session)."""
        if self.product is None or not self.product.counts_seats:
            return None
        return self.product.available

    @property
    def label(self) -> str:
        return product_label(self.name, self.code)

    @property
    def to_grant(self):
        return len(self.grant_ids)

    @property
    def to_recall(self):
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

    @property
    def has_errors(self):
        return self.error_count > 0

    @property
    def to_grant(self):
        return sum(p.to_grant for p in self.products.values())

    @property
    def to_recall(self):
        return sum(p.to_recall for p in self.products.values())

    @property
    def unchanged(self):
        return sum(p.unchanged for p in self.products.values())

    @property
    def has_changes(self):
        return bool(self.to_grant or self.to_recall)

    @property
    def errors_left_out(self):
        return self.error_count - len(self.errors)

    def add_error(self, row, code, message, user="", product=""):
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(RowError(row=row, code=code, message=message, user=user,
                                        product=product))

    def summary(self):
        return _("%(grant)d to grant, %(recall)d to recall, %(unchanged)d unchanged") % {
            "grant": self.to_grant, "recall": self.to_recall, "unchanged": self.unchanged}

    def error_summary(self):
        return ngettext(
            "%(count)d error: nothing can be imported until it is corrected.",
            "%(count)d errors: nothing can be imported until they are corrected.",
            self.error_count,
        ) % {"count": self.error_count}


class _UserIndex:
    """Import cells (usernames or e-mails) to ``(pk, username, is_active, is_portal)``.

    Filled a batch at a time: one query for exact usernames, one for the misses (e-mail or
    username, case-insensitively). Kept across batches: users recur in files, one row per
    product they hold.
    """

    def __init__(self):
        User = get_user_model()
        self.model = User
        self.username = User.USERNAME_FIELD
        email = User.get_email_field_name()
        try:
            User._meta.get_field(email)
            self.email = email
        except FieldDoesNotExist:
            self.email = None
        self.known = {}

    def _base(self):
        return self.model._default_manager.order_by().annotate(
            _portal=is_portal_user_expression())

    def resolve(self, values):
        todo = list({v for v in values if v and v not in self.known})
        if not todo:
            return
        columns = ("pk", self.username, "is_active", "_portal")
        for pk, name, active, portal in self._base().filter(
                **{f"{self.username}__in": todo}).values_list(*columns):
            self.known[name] = (pk, name, active, bool(portal))
        misses = {}
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
            extra = ("_l_username", "_l_email")
        else:
            extra = ("_l_username",)
        by_username, by_email = {}, {}
        for found in qs.filter(condition).values_list(*columns, *extra):
            user = (found[0], found[1], found[2], bool(found[3]))
            if found[4] in misses:
                by_username.setdefault(found[4], set()).add(user)
            if len(found) > 5 and found[5] in misses:
                by_email.setdefault(found[5], set()).add(user)
        for key, values_ in misses.items():
            candidates = by_username.get(key) or by_email.get(key) or set()
            if len(candidates) == 1:
                user = next(iter(candidates))
            elif candidates:
                user = _AMBIGUOUS
            else:
                user = None
            for value in values_:
                self.known[value] = user

    def get(self, value):
        return self.known.get(value)


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def build_plan(rows, state, *, filename="", format="", today=None):
    """Plan an import of ``rows`` (``ImportRow``s, or an ``AssignmentFile``) against ``state``.

    Changes nothing. Every row either changes something, is unchanged (the user already holds
    the product it grants, or does not hold the product it recalls), or is an error.
    """
    if hasattr(rows, "rows"):
        filename = filename or rows.filename
        format = format or rows.format
        rows = rows.rows
    today = today or site_today()
    plan = ImportPlan(filename=filename, format=format, rows=len(rows), version=state.version,
                      demo_mode=state.demo_mode)
    installed = {}
    if state.installed_file_id:
        installed = {p.code: p for p in LicensedProduct.objects.filter(
            license_file_id=state.installed_file_id).with_usage()}
    # Codes that assignments exist for, although no installed product has them (an earlier
    # license file's): recalling them is fine, and holding them is "unchanged".
    held_codes = set(LicenseAssignment.objects.order_by().values_list(
        "product_code", flat=True).distinct())
    codes = {code: code for code in held_codes | set(installed)}
    codes_folded = {}
    for code in codes:
        codes_folded.setdefault(code.lower(), []).append(code)

    def product_code(text):
        if text in codes:
            return text
        # Spreadsheet users type "Editor" for "editor": accept it when it is unambiguous.
        folded = codes_folded.get(text.lower(), [])
        return folded[0] if len(folded) == 1 else text

    users = _UserIndex()
    seen = {}  # (user pk, product code) -> first row number
    size = batch_size()
    for batch in _chunks(rows, size):
        users.resolve(row.user for row in batch)
        pks = {u[0] for row in batch if isinstance(u := users.get(row.user), tuple)}
        held = set()
        for chunk in _chunks(list(pks), size):
            held.update(LicenseAssignment.objects.filter(user_id__in=chunk).values_list(
                "user_id", "product_code"))
        for row in batch:
            _plan_row(plan, row, users, seen, held, installed, codes, product_code, today)

    _check_seats(plan)
    return plan


def _plan_row(plan, row, users, seen, held, installed, known_codes, product_code, today):
    number = row.number
    action = (row.action or "").strip().lower() or GRANT
    problems = []
    if action not in ACTIONS:
        problems.append((INVALID_ACTION, _(
            "The action \u201c%(action)s\u201d is not valid: use grant or recall (an empty "
            "cell means grant).") % {"action": row.action}))
    user = None
    if not row.user:
        problems.append((MISSING_USER, _("The user cell is empty.")))
    else:
        user = users.get(row.user)
        if user is None:
            problems.append((UNKNOWN_USER, _(
                "No user has the username or e-mail \u201c%(user)s\u201d.") % {"user": row.user}))
        elif user is _AMBIGUOUS:
            problems.append((AMBIGUOUS_USER, _(
                "Several users match \u201c%(user)s\u201d: use their exact username.")
                % {"user": row.user}))
    if not row.product:
        problems.append((MISSING_PRODUCT, _("The product cell is empty.")))
    for code, message in problems:
        plan.add_error(number, code, message, user=row.user, product=row.product)
    if problems:
        return

    pk, username, active, portal = user
    code = product_code(row.product)
    first = seen.get((pk, code))
    if first is not None:
        plan.add_error(number, DUPLICATE, _(
            "Duplicate of row %(first)d (%(user)s, %(product)s): each user and product may "
            "appear once.") % {"first": first, "user": username, "product": code},
            user=row.user, product=row.product)
        return
    seen[(pk, code)] = number
    product = installed.get(code)
    holds = (pk, code) in held

    def product_plan():
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
        return
    label = product.label if product else code
    values = {"user": username, "product": label}
    problem = product.ineligibility(is_active=active, is_portal=portal) if product else None
    if product is None:
        message, error = _unknown_product(code, plan.demo_mode), UNKNOWN_PRODUCT
    elif not product.is_grantable_on(today):
        error = PRODUCT_NOT_VALID
        message = _("The product %(product)s is valid from %(from)s until %(until)s, so it "
                    "cannot be granted today.") % {
            "product": label, "from": product.valid_from.isoformat(),
            "until": product.valid_until.isoformat()}
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


def _unknown_product(code, demo_mode):
    if demo_mode:
        return _("No license is installed, so \u201c%(code)s\u201d cannot be granted. Upload a "
                 "license file first.") % {"code": code}
    return _("The code \u201c%(code)s\u201d is not a product of the installed license. Check "
             "the code on the License manager page.") % {"code": code}


def _check_seats(plan):
    """All-or-nothing per product, as a grant: the product as a whole must have a
    seat for every user the file grants it to, counting the seats its recalls free."""
    for target in plan.products.values():
        product = target.product
        if product is None or not product.counts_seats:
            continue
        if target.recall_ids:
            # Recalling reallocates: the earliest-granted active holders left keep or get the
            # seats, so what stays taken is min(seats, active holders left).
            remaining = max(product.active_holders - target.recall_active, 0)
            available = max(product.seats - min(product.seats, remaining), 0)
        else:
            available = product.available
        target.available_after = available - target.to_grant
        if target.to_grant > available:
            plan.add_error(None, NOT_ENOUGH_SEATS, ngettext(
                "%(product)s: the file grants it to %(needed)d user, but only %(available)d of "
                "%(seats)d seats are available. Remove rows, recall it from other users or ask "
                "your vendor for more seats.",
                "%(product)s: the file grants it to %(needed)d users, but only %(available)d "
                "of %(seats)d seats are available. Remove rows, recall it from other users or "
                "ask your vendor for more seats.", target.to_grant,
            ) % {"product": target.label, "needed": target.to_grant, "available": available,
                 "seats": product.seats}, product=target.code)
