"""API tokens: a license manager creates one for their own account (shown once, stored as its
SHA-256 digest) and revokes any. The work is ``operations.create_api_token`` and
``revoke_api_token``; this view validates and words."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages

from .. import operations
from ..forms import ApiTokenForm
from ..models import ApiToken
from .base import LicensingPermissionMixin, LicensingViewMixin
from .names import API_TOKENS_NAMESPACE


def index_url() -> str:
    return reverse(f"{API_TOKENS_NAMESPACE}:index")


class ApiTokensView(LicensingViewMixin, TemplateView):
    """Every token (live first), and the form that creates one."""

    template_name = "wagtail_licensing/api_tokens.html"
    page_title = gettext_lazy("API tokens")
    header_icon = "code"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ApiTokenForm())
        context["tokens"] = (ApiToken.objects.select_related("user")
                             .order_by("revoked_at", "-created_at", "-id"))
        context["index_url"] = index_url()
        context["api_url"] = self.api_url()
        return context

    def api_url(self) -> str:
        try:
            return self.request.build_absolute_uri(reverse("wagtail_licensing_api:license"))
        except NoReverseMatch:  # the site has not mounted the API
            return ""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        result = operations.create_api_token(name=form.cleaned_data["name"],
                                             read_only=form.cleaned_data["read_only"],
                                             user=request.user)
        # Rendered, not redirected: the secret is in this response only, never in a session,
        # a message or a log.
        response = self.render_to_response(self.get_context_data(created=result))
        response["Cache-Control"] = "no-store"
        return response


class RevokeApiTokenView(LicensingPermissionMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        token = get_object_or_404(ApiToken, pk=pk)
        result = operations.revoke_api_token(token, user=request.user)
        if result.revoked:
            messages.success(request, _("Revoked the API token %(token)s of %(user)s.") % {
                "token": str(token), "user": token.user.get_username()})
        else:
            messages.info(request, _("The API token %(token)s was already revoked.") % {
                "token": str(token)})
        return redirect(index_url())
