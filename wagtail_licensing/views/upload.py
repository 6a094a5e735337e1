"""Upload a license file: choose it, see what it would change, then confirm or cancel.

The uploaded file waits server-side (``PendingUpload``) between the preview and the
confirmation; the confirmation form carries only its token, never the file. Installing checks
everything again under the licensing lock, so a preview that has gone stale cannot install
anything the rules refuse. Every refusal is shown in the form and changes nothing.
"""


from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import FormView
from wagtail.admin import messages

from .. import operations
from ..actions.install import UploadPreview
from ..dates import format_day
from ..exceptions import LicensingError
from ..forms import ConfirmUploadForm, UploadLicenseFileForm
from ..models import PendingUpload, ProductType
from ..wording import names_list
from .base import LicensingViewMixin, PendingUploadMixin, license_manager_url


def refusal_message(error: LicensingError | ValidationError) -> str:
    """The reason to show for a refusal by the format, the seat rules or a site's hook."""
    if isinstance(error, LicensingError):
        return error.message
    return " ".join(error.messages)  # ValidationError raised by a hook


CHANGE_KINDS = {
    "added": (gettext_lazy("Added"), "positive"),
    "changed": (gettext_lazy("Changed"), "warning"),
    "removed": (gettext_lazy("Removed"), "critical"),
    "unchanged": (gettext_lazy("Unchanged"), "neutral"),
}


def _display(field: str, value: Any) -> str:
    if field == "seats":
        return _("unlimited") if value is None else str(value)
    if field == "type":
        try:
            return str(ProductType(value).label)
        except ValueError:
            return str(value)
    if field in ("valid_from", "valid_until") and value:
        return format_day(date.fromisoformat(value))
    return "" if value is None else str(value)


def change_rows(preview: UploadPreview) -> list[dict[str, Any]]:
    """The preview's product changes, ready to show: one row per product."""
    rows: list[dict[str, Any]] = []
    for change in preview.changes:
        product = cast("dict[str, Any]", change.new or change.old)  # one of them is set
        label, tone = CHANGE_KINDS[change.kind]
        rows.append({
            "code": change.code,
            "name": change.name,
            "kind": change.kind,
            "label": label,
            "tone": tone,
            "type": _display("type", product["type"]),
            "seats": _display("seats", product["seats"]),
            "valid_from": _display("valid_from", product["valid_from"]),
            "valid_until": _display("valid_until", product["valid_until"]),
            "details": [
                {"label": detail["label"], "old": _display(detail["field"], detail["old"]),
                 "new": _display(detail["field"], detail["new"])}
                for detail in change.details
            ],
        })
    return rows


# What a refusal can be: the operations' errors, or a ValidationError raised by a
# before_license_file_install hook.
REFUSALS = (LicensingError, ValidationError)


class UploadView(LicensingViewMixin, FormView):
    """Step 1: choose the license file. A file the rules refuse is refused here already."""

    template_name = "wagtail_licensing/upload.html"
    form_class = UploadLicenseFileForm
    page_title = gettext_lazy("Upload license file")

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            operations.preview_upload(form.content)
        except REFUSALS as error:
            form.add_error("license_file", refusal_message(error))
            return self.form_invalid(form)
        pending = PendingUpload.store(kind=PendingUpload.Kind.LICENSE_FILE,
                                      user=self.request.user,
                                      filename=form.cleaned_data["license_file"].name,
                                      content=form.content)
        return redirect("wagtail_licensing:upload_preview", token=pending.token)


class UploadPreviewView(PendingUploadMixin, LicensingViewMixin, FormView):
    """Step 2: what installing the file would change, with Confirm and Cancel.

    GET shows the preview of the waiting file; POST confirms (``action=confirm``) or cancels
    (``action=cancel``) it.
    """

    template_name = "wagtail_licensing/upload_preview.html"
    form_class = ConfirmUploadForm
    pending_kind = PendingUpload.Kind.LICENSE_FILE
    expired_message = gettext_lazy(
        "That upload is no longer waiting for confirmation (it was confirmed, cancelled or has "
        "expired). Nothing was changed; upload the file again.")
    cancelled_message = gettext_lazy("Upload of %(file)s cancelled. Nothing was changed.")
    unnamed_file = gettext_lazy("the license file")
    page_title = gettext_lazy("Upload license file")
    page_subtitle = gettext_lazy("Preview upload")

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": license_manager_url(), "label": _("License manager")},
            {"url": reverse("wagtail_licensing:upload"), "label": _("Upload license file")},
            {"url": "", "label": self.page_subtitle},
        ]

    def get_restart_url(self) -> str:
        return reverse("wagtail_licensing:upload")

    def get_cancel_url(self) -> str:
        return license_manager_url()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = self.get_pending(kwargs["token"])
        if pending is None:
            return self.expired()
        self.pending = pending
        form = self.form_class(initial={"token": self.pending.token})
        return self.render_preview(form)

    def grant_selection(self, form: Form) -> dict[str, list[str]] | None:
        """The users the manager ticked to grant a product with the install (``{}``: none),
        or None when the selection cannot be read (the form then says why)."""
        users = form.cleaned_data.get("grant_users") or []
        if not users:
            return {}
        code = form.cleaned_data.get("grant_product") or ""
        if not code:
            form.add_error(None, _("Choose the product to grant the selected users. Nothing "
                                   "was installed."))
            return None
        return {code: list(users)}

    def confirm(self, form: Form) -> HttpResponse:
        grant = self.grant_selection(form)
        if grant is None:
            return self.render_preview(form)
        try:
            result = operations.install_license_file(bytes(self.pending.content),
                                                     user=self.request.user, grant=grant)
        except REFUSALS as error:
            form.add_error(None, refusal_message(error))
            return self.render_preview(form)
        self.pending.delete()
        messages.success(self.request, _("License file %(id)s installed.")
                         % {"id": result.license_file.license_id})
        for code, names in result.granted.items():
            if names:
                messages.success(self.request, ngettext(
                    "%(product)s granted to %(count)d user: %(names)s.",
                    "%(product)s granted to %(count)d users: %(names)s.", len(names),
                ) % {"product": self.product_label(result, code), "count": len(names),
                     "names": names_list(names)})
        # Once: the over-allocation the preview forecast is now a fact, which the banner
        # states on the next page (in its words, dismissible); the other warnings stay.
        for warning in result.preview.warnings:
            if warning not in result.preview.forecasts:
                messages.warning(self.request, warning)
        return redirect(license_manager_url())

    @staticmethod
    def product_label(result: Any, code: str) -> str:
        for offer in result.preview.seat_offers:
            if offer.code == code:
                return offer.label
        return code

    def render_preview(self, form: Form) -> HttpResponse:
        """The preview, computed afresh: the installed license may have changed meanwhile."""
        preview = refusal = None
        try:
            preview = operations.preview_upload(bytes(self.pending.content))
        except REFUSALS as error:
            refusal = refusal_message(error)
        if refusal in [str(error) for error in form.non_field_errors()]:
            refusal_shown = None  # the form shows it already
        else:
            refusal_shown = refusal
        return self.render_to_response(self.get_context_data(
            form=form, pending=self.pending, preview=preview, refusal=refusal_shown,
            can_confirm=preview is not None,
            payload=preview.payload if preview else None,
            changes=change_rows(preview) if preview else [],
            state=self.state,
            selected_users={str(pk) for pk in (form.cleaned_data.get("grant_users") or []
                                               if form.is_bound else [])},
            selected_product=form.data.get("grant_product", "") if form.is_bound else "",
        ))
