"""Licensing > Groups: bind products to Wagtail groups with priorities (a preview before the
binding is saved), unbind them, reprocess, and see the members left without a seat. The work
is ``operations.*group*``; this view validates, previews and words."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.forms import Media
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from .. import group_status, operations, wording
from ..exceptions import LicensingError
from ..forms import GroupBindingForm
from ..models import GroupLicenseError, LicensedProduct
from .base import LicensingViewMixin
from .feedback import report
from .names import GROUPS_NAMESPACE

# How many licensing errors the screen lists (the command lists them all).
ERRORS_SHOWN = 200


def index_url(group: Group | int | None = None) -> str:
    url = reverse(f"{GROUPS_NAMESPACE}:index")
    return f"{url}?group={getattr(group, 'pk', group)}" if group is not None else url


class GroupsView(LicensingViewMixin, TemplateView):
    """Every binding with its members, holders and errors; the bind form and its preview."""

    template_name = "wagtail_licensing/groups.html"
    page_title = gettext_lazy("Groups")
    header_icon = "group"

    def products(self) -> list[LicensedProduct]:
        if self.state.installed_file_id is None:
            return []
        return list(
            LicensedProduct.objects.filter(license_file_id=self.state.installed_file_id).order_by(
                "type", "code"
            )
        )

    def form(self, data: Any = None) -> GroupBindingForm:
        initial = {}
        if self.selected_group is not None:
            initial["group"] = self.selected_group
        return GroupBindingForm(
            data, initial=initial, products=[(p.code, p.label) for p in self.products()]
        )

    @property
    def selected_group(self) -> Group | None:
        if not hasattr(self, "_selected"):
            pk = self.request.GET.get("group")
            self._selected = Group.objects.filter(pk=pk).first() if pk and pk.isdigit() else None
        return self._selected

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        group = self.selected_group
        context.setdefault("form", self.form())
        context["group"] = group
        context["bindings"] = group_status.bindings(group)
        errors = GroupLicenseError.objects.select_related("user", "group").order_by(
            "product_code", "group__name", "user_id"
        )
        if group is not None:
            errors = errors.filter(group=group)
        context["errors_total"] = errors.count()
        context["errors"] = list(errors[:ERRORS_SHOWN])
        context["index_url"] = reverse(f"{GROUPS_NAMESPACE}:index")
        context["demo_mode"] = self.state.demo_mode
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = request.POST.get("action", "")
        try:
            if action in ("preview", "bind"):
                return self.bind(confirmed=action == "bind")
            if action == "unbind":
                group = get_object_or_404(Group, pk=request.POST.get("group"))
                result = operations.unbind_group_licenses(
                    group, request.POST.getlist("product"), user=request.user
                )
                report(request, wording.group_messages(result))
                return redirect(index_url(group))
            if action == "reprocess":
                pk = request.POST.get("group")
                target = get_object_or_404(Group, pk=pk) if pk else None
                result = operations.reprocess_group_licenses(
                    group=target,
                    remove_manual=request.POST.get("remove_manual") == "1",
                    user=request.user,
                )
                report(request, wording.group_messages(result))
                return redirect(index_url(target))
        except LicensingError as exc:
            report(request, [("error", str(exc))])
            return redirect(index_url())
        report(request, [("error", _("Unknown action: nothing was changed."))])
        return redirect(index_url())

    def bind(self, *, confirmed: bool) -> HttpResponse:
        form = self.form(self.request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        group, code = form.cleaned_data["group"], form.cleaned_data["product"]
        if not confirmed:
            (preview,) = operations.preview_group_binding(group, code, user=self.request.user)
            return self.render_to_response(self.get_context_data(form=form, preview=preview))
        result = operations.bind_group_licenses(
            group, code, priority=form.cleaned_data["priority"], user=self.request.user
        )
        report(self.request, wording.group_messages(result))
        return redirect(index_url(group))


class GroupLicensesPanel:
    """A Licenses panel on Wagtail's group edit page (``register_group_permission_panel``):
    the products bound to the group and a link to Licensing > Groups. It saves nothing:
    bindings are changed on the Groups screen, with its preview."""

    def __init__(self, instance: Group | None = None, **kwargs: Any) -> None:
        self.instance = instance

    media = Media()

    def is_valid(self) -> bool:
        return True

    def save(self) -> None:
        """Nothing to save here (Wagtail calls it after the group form)."""

    def as_admin_panel(self) -> str:
        group = self.instance if self.instance is not None and self.instance.pk else None
        return render_to_string(
            "wagtail_licensing/groups_panel.html",
            {
                "group": group,
                "bindings": group_status.bindings(group) if group is not None else [],
                "groups_url": index_url(group),
            },
        )
