"""Import license assignments: upload a file, see the dry run, then confirm or cancel.

The file is read once, at upload, within the limits; what it says (``AssignmentFile.dumps``)
waits server-side (``PendingUpload``, kind ``assignments``) between the steps, so reloading
the preview or confirming never parses the file again. The confirmation form carries only its
token and the licensing version the preview was made
against. Confirming plans again under the licensing lock and applies everything or nothing
(``operations.import_assignments``); if licensing changed since the preview, the manager sees
the new preview instead and confirms again.
"""


from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.widgets.button import Button

from .. import operations
from ..conf import licensing_settings
from ..exceptions import ImportOutdated, ImportRefused, InvalidImportFile
from ..formats import AssignmentFile, check_file_size, read_assignments
from ..formats.limits import check_row_count
from ..models import PendingUpload
from .base import LicensingViewMixin, PendingUploadMixin
from .names import ASSIGNMENTS_NAMESPACE

URL_NAMESPACE = ASSIGNMENTS_NAMESPACE
#: Errors listed on the preview page (the plan counts them all).
ERRORS_SHOWN = 500
#: Usernames listed per product and action on the preview page.
NAMES_SHOWN = 20

ACCEPT = ",".join([
    ".csv", ".xlsx", ".json", "text/csv", "application/json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
])


class ImportAssignmentsForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8), Excel (.xlsx) or JSON. The next page shows what "
                               "it would change before anything is imported."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        try:
            check_file_size(upload.size)
            content = upload.read()
            self.assignments = read_assignments(content, filename=upload.name)
        except InvalidImportFile as error:
            raise forms.ValidationError(error.message, code="invalid") from error
        if not self.assignments.rows:
            raise forms.ValidationError(_("The file has column names but no rows to import."),
                                        code="empty")
        return upload


class ConfirmImportForm(forms.Form):
    """Confirms (or cancels) the file waiting server-side: its token, and the licensing
    version the manager saw the preview of."""

    token = forms.UUIDField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def import_url() -> str:
    return reverse(f"{URL_NAMESPACE}:import")


class ImportView(LicensingViewMixin, FormView):
    """Step 1: choose the file. A file that cannot be read is refused here already."""

    template_name = "wagtail_licensing/assignments/import.html"
    form_class = ImportAssignmentsForm
    page_title = gettext_lazy("Import license assignments")
    header_icon = "upload"

    def form_valid(self, form: Any) -> HttpResponse:
        pending = PendingUpload.store(kind=PendingUpload.Kind.ASSIGNMENTS,
                                      user=self.request.user,
                                      filename=form.cleaned_data["file"].name,
                                      content=form.assignments.dumps())
        return redirect(f"{URL_NAMESPACE}:import_preview", token=pending.token)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({
            "max_file_size": filesizeformat(licensing_settings.IMPORT_MAX_FILE_SIZE),
            "max_rows": number_format(licensing_settings.IMPORT_MAX_ROWS, force_grouping=True),
            "max_rows_count": licensing_settings.IMPORT_MAX_ROWS,
            "export_url": reverse(f"{URL_NAMESPACE}:export"),
        })
        return context


class ImportPreviewView(PendingUploadMixin, LicensingViewMixin, FormView):
    """Step 2: the dry run of the waiting file, with Confirm (when it has no error) and Cancel.

    GET shows the preview; POST confirms (``action=confirm``) or cancels (``action=cancel``).
    """

    template_name = "wagtail_licensing/assignments/import_preview.html"
    form_class = ConfirmImportForm
    pending_kind = PendingUpload.Kind.ASSIGNMENTS
    expired_message = gettext_lazy(
        "That import is no longer waiting for confirmation (it was confirmed, cancelled or has "
        "expired). Nothing was changed; upload the file again.")
    cancelled_message = gettext_lazy("Import of %(file)s cancelled. Nothing was changed.")
    page_title = gettext_lazy("Import license assignments")
    page_subtitle = gettext_lazy("Preview")
    header_icon = "upload"

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return [{"url": import_url(), "label": _("Import license assignments")}]

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items = super().get_breadcrumbs_items()
        items[-1] = {"url": "", "label": self.page_subtitle}
        return items

    def get_restart_url(self) -> str:
        return import_url()

    def read(self) -> AssignmentFile:
        """The file as parsed at upload (kept with the pending upload: it is read once); an
        upload kept whole by an earlier version is read again."""
        content = bytes(self.pending.content)
        assignments = AssignmentFile.loads(content)
        if assignments is None:
            return read_assignments(content, filename=self.pending.filename)
        check_row_count(len(assignments))  # the limit may have been lowered since
        return assignments

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = self.get_pending(kwargs["token"])
        if pending is None:
            return self.expired()
        self.pending = pending
        try:
            return self.render_preview()
        except InvalidImportFile as error:  # e.g. the limits were lowered since the upload
            self.pending.delete()
            messages.error(request, error.message)
            return redirect(import_url())

    def confirm(self, form: Form) -> HttpResponse:
        version = form.cleaned_data["version"]
        here = reverse(f"{URL_NAMESPACE}:import_preview", kwargs={"token": self.pending.token})
        try:
            result = operations.import_assignments(self.read(), user=self.request.user,
                                                   expected_version=version)
        except ImportOutdated as error:
            messages.warning(self.request, error.message)
            return redirect(here)
        except ImportRefused as error:
            messages.error(self.request, _("%(reason)s Nothing was imported.")
                           % {"reason": error.message})
            return redirect(here)
        except InvalidImportFile as error:  # pragma: no cover - it was read at upload
            messages.error(self.request, error.message)
            return redirect(import_url())
        filename = self.pending.filename
        self.pending.delete()
        messages.success(self.request, _(
            "Imported %(file)s: %(granted)d granted, %(recalled)d recalled, %(unchanged)d "
            "unchanged.") % {"file": filename or _("the file"),
                             "granted": result.granted_count,
                             "recalled": result.recalled_count,
                             "unchanged": result.unchanged_count})
        return redirect(import_url())

    def render_preview(self) -> HttpResponse:
        """The dry run, computed afresh: licensing may have changed since the upload."""
        assignments = self.read()
        plan = operations.preview_import(assignments)
        form = self.form_class(initial={"token": self.pending.token, "version": plan.version})
        products = [{
            "plan": target,
            "grant_names": target.grant_names[:NAMES_SHOWN],
            "grant_more": max(target.to_grant - NAMES_SHOWN, 0),
            "recall_names": target.recall_names[:NAMES_SHOWN],
            "recall_more": max(target.to_recall - NAMES_SHOWN, 0),
        } for target in plan.products.values()]
        errors = plan.errors[:ERRORS_SHOWN]
        return self.render_to_response(self.get_context_data(
            form=form, pending=self.pending, plan=plan, assignments=assignments,
            products=products, errors=errors, errors_not_shown=plan.error_count - len(errors),
            # A file that changes nothing has nothing to confirm (issue 12 item 14).
            can_confirm=not plan.has_errors and plan.has_changes,
        ))


def license_manager_actions(request: HttpRequest) -> list[Button]:
    """Import and Export entries for the License manager's Actions dropdown."""
    return [
        Button(_("Import assignments"), url=import_url(), icon_name="upload", priority=50),
        Button(_("Export assignments"), url=reverse(f"{URL_NAMESPACE}:export"),
               icon_name="download", priority=60),
    ]
