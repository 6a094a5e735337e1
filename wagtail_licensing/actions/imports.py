"""Import license assignments: the dry run (``PreviewImportAction``) and the confirmed import."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import ImportOutdated, ImportRefused
from ..importing import ImportPlan, batch_size, build_plan
from ..models import AssignmentSource, LicenseAssignment, ProductType
from . import counters
from .base import NAMES_LOGGED, LicensingAction, StateAccess
from .results import (
    AFTER_LICENSES_GRANTED,
    AFTER_LICENSES_RECALLED,
    GrantResult,
    ImportResult,
    RecallResult,
)
from .seats import insert_assignments, reallocate

ACTION_IMPORT = "wagtail_licensing.import"
AFTER_LICENSES_IMPORTED = "after_licenses_imported"


class PreviewImportAction(LicensingAction[ImportPlan]):
    """Step 1, the dry run: what ``rows`` would change and every row error. Reads only, so it
    takes no lock; the import plans again under the lock."""

    state_access = StateAccess.READ
    atomic = False

    def __init__(self, rows: Any, *, user: Any = None, today: date | None = None) -> None:
        super().__init__(user=user)
        self.rows = rows
        self.today = today

    def _run(self) -> ImportPlan:
        return build_plan(self.rows, self.state, today=self.today)


class ImportAction(LicensingAction[ImportResult]):
    """Step 2: apply ``rows`` in one transaction, all or nothing.

    Plans again under the licensing lock, whatever a preview said; if any row is in error,
    raises ``ImportRefused`` (with the plan) and changes nothing. With ``expected_version``
    (the ``plan.version`` a manager previewed), raises ``ImportOutdated`` when licensing has
    changed since, so that what is applied is what was shown.

    Recalls first (their seats are reallocated), then grants through ``insert_assignments``:
    the rules of a grant hold, in a bounded number of queries per batch of rows. Logs one
    entry with the counts (also when every row was unchanged). When something changed, calls
    the ``after_licenses_recalled`` and ``after_licenses_granted`` hooks as a recall or grant
    would, then ``after_licenses_imported``.
    """

    log_action = ACTION_IMPORT

    def __init__(self, rows: Any, *, user: Any = None, expected_version: int | None = None,
                 today: date | None = None) -> None:
        super().__init__(user=user)
        self.rows = rows
        self.expected_version = expected_version
        self.today = today
        self.as_recall = RecallResult()
        self.as_grant = GrantResult()

    def _run(self) -> ImportResult:
        state = self.state
        User = get_user_model()
        if self.expected_version is not None and state.version != self.expected_version:
            raise ImportOutdated(_("Licenses were changed since this import was previewed. "
                                   "Check the new preview and confirm again."))
        plan = build_plan(self.rows, state, today=self.today)
        if plan.has_errors:
            raise ImportRefused(plan.error_summary(), plan=plan)
        result = ImportResult(plan=plan)
        size = batch_size()
        for code, target in plan.products.items():
            if not target.recall_ids:
                continue
            removed = 0
            for start in range(0, len(target.recall_ids), size):
                chunk = target.recall_ids[start:start + size]
                removed += counters.delete_assignments(LicenseAssignment.objects.filter(
                    product_code=code, user_id__in=chunk)).get(code, counters.Counts()).holders
            if removed != target.to_recall:  # pragma: no cover - the lock makes this impossible
                raise ImportOutdated(_("The assignments changed while the file was imported. "
                                       "Nothing was changed: check the new preview and "
                                       "confirm again."))
            result.recalled[code] = removed
            self.as_recall.recalled[code] = target.recall_names
            self.as_recall.names[code] = target.name
        if result.recalled:
            reallocate(state.installed_file_id, result.recalled, after_removal=True)
        now = timezone.now()
        for code, target in plan.products.items():
            product = target.product
            if not target.grant_ids or product is None:  # grants are planned for products only
                continue
            inserted = 0
            for start in range(0, len(target.grant_ids), size):
                chunk = target.grant_ids[start:start + size]
                inserted += insert_assignments(User._default_manager.filter(pk__in=chunk),
                                               product, self.user,
                                               AssignmentSource.IMPORT, now)
            if inserted != target.to_grant:
                # A user in the file was deactivated (or deleted, or made a portal user) after
                # the plan was made: user accounts change without the licensing lock.
                raise ImportOutdated(_("A user in the file was deactivated or changed while "
                                       "the file was imported. Nothing was changed: check the "
                                       "new preview and confirm again."))
            result.granted[code] = inserted
            self.as_grant.granted[code] = target.grant_names
            self.as_grant.names[code] = target.name
            self.as_grant.types[code] = ProductType(product.type)
        return result

    def logs(self, result: ImportResult) -> bool:
        return True  # an import that changed nothing is still on record

    def log_data(self, result: ImportResult) -> dict[str, Any]:
        plan = result.plan
        return {
            "source": str(AssignmentSource.IMPORT),
            "filename": plan.filename,
            "format": plan.format,
            "rows": plan.rows,
            "granted": {code: {"count": n, "users": plan.products[code].grant_names[
                :NAMES_LOGGED]} for code, n in result.granted.items()},
            "recalled": {code: {"count": n, "users": plan.products[code].recall_names[
                :NAMES_LOGGED]} for code, n in result.recalled.items()},
            "unchanged": plan.unchanged,
        }

    def hooks(self, result: ImportResult) -> list[tuple[str, dict[str, Any]]]:
        calls: list[tuple[str, dict[str, Any]]] = []
        if result.recalled:
            calls.append((AFTER_LICENSES_RECALLED, {"result": self.as_recall}))
        if result.granted:
            calls.append((AFTER_LICENSES_GRANTED, {"result": self.as_grant}))
        if result.changed:
            calls.append((AFTER_LICENSES_IMPORTED, {"result": result}))
        return calls
