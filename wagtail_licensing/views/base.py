"""What every licensing screen shares: the permission check through the registered policy,
the licensing-screen marker, breadcrumbs, the state, and the confirmation step of uploads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from ..enforcement import license_manager_url
from ..models import LicensingState, PendingUpload
from ..permissions import MANAGE, permission_policy

if TYPE_CHECKING:  # what the upload mixin is mixed into, for the type checker only
    from django.views.generic import FormView as _FormViewBase
else:
    _FormViewBase = object


class LicensingPermissionMixin(PermissionCheckedMixin):
    """Every licensing view: CanManageLicUsers through the registered permission policy.

    First in each view's bases, so that nothing (not even a 404 for an unknown product or
    user) is revealed to users without the permission. ``wagtail_licensing_screen`` tells the
    middleware that the view is a licensing screen, which license managers without a license
    of their own may still use.
    """

    wagtail_licensing_screen = True
    permission_policy = permission_policy
    permission_required = MANAGE
    any_permission_required = None


class LicensingViewMixin(LicensingPermissionMixin, WagtailAdminTemplateMixin):
    """Base of the License manager's screens: Home > License manager > this screen."""

    header_icon = "key"
    # Breadcrumbs between "License manager" and this screen, as [{"url": ..., "label": ...}].
    parent_breadcrumbs: tuple[dict[str, Any], ...] = ()

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [
            *self.breadcrumbs_items,
            {"url": license_manager_url(), "label": _("License manager")},
            *self.get_parent_breadcrumbs(),
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    def get_parent_breadcrumbs(self) -> list[dict[str, Any]]:
        return list(self.parent_breadcrumbs)

    @cached_property
    def state(self) -> LicensingState:
        """The licensing singleton with its installed file and installer, in one query."""
        return LicensingState.get_with_installed_file()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["license_manager_url"] = license_manager_url()
        return context


class PendingUploadMixin(_FormViewBase):
    """Step 2 of a two-step upload (license file, assignments): the file waits server-side as
    a ``PendingUpload`` of ``pending_kind``, and the confirmation form carries only its token.

    POST with ``action=cancel`` drops the file; any other POST calls ``confirm(form)``. A
    token that is unknown, foreign, spent or expired changes nothing and says so.
    """

    pending_kind: PendingUpload.Kind
    expired_message: str | Promise  # shown when the token no longer names a waiting file
    cancelled_message: str | Promise  # "%(file)s" is the uploaded file's name
    foreign_message = _(
        "That file was uploaded by another license manager: only they can confirm or cancel "
        "it. Nothing was changed; upload the file yourself to see its preview.")
    unnamed_file = _("the file")
    pending: PendingUpload
    form_class: type[Form]

    def get_restart_url(self) -> str:
        """Where the manager uploads again."""
        raise NotImplementedError

    def get_cancel_url(self) -> str:
        return self.get_restart_url()

    def get_pending(self, token: Any) -> PendingUpload | None:
        return PendingUpload.fetch(kind=self.pending_kind, user=self.request.user, token=token)

    def expired(self) -> HttpResponse:
        # Another manager's upload is not "confirmed, cancelled or expired": say whose it is.
        if PendingUpload.waits_for_another(kind=self.pending_kind, user=self.request.user,
                                           token=self.kwargs.get("token")):
            messages.error(self.request, self.foreign_message)
        else:
            messages.error(self.request, self.expired_message)
        return redirect(self.get_restart_url())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.form_class(request.POST)
        if not form.is_valid() or str(form.cleaned_data["token"]) != str(kwargs["token"]):
            return self.expired()
        pending = self.get_pending(form.cleaned_data["token"])
        if pending is None:
            return self.expired()
        self.pending = pending
        if request.POST.get("action") == "cancel":
            return self.cancel()
        return self.confirm(form)

    def cancel(self) -> HttpResponse:
        filename = self.pending.filename
        self.pending.delete()
        messages.info(self.request, self.cancelled_message
                      % {"file": filename or self.unnamed_file})
        return redirect(self.get_cancel_url())

    def confirm(self, form: Form) -> HttpResponse:
        raise NotImplementedError
