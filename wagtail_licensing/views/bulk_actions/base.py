"""What Grant licenses and Recall licenses share.

Wagtail's ``BulkAction`` loads every selected object and checks it one by one; here the
selection stays a queryset from start to finish, so that acting on 10,000 users takes the same
number of queries as acting on ten, and the operation runs in one transaction.
"""

from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.admin.views.generic.base import BaseListingView

from ... import wording
from ...filters import filter_users
from ...permissions import can_manage_licenses
from ..feedback import report
from ..system_users import PORTAL_ANNOTATION, URL_NAMESPACE, with_licensing

User = get_user_model()


def listing_queryset(request):
    """The users of the listing a "select all in listing" came from, with its filters.

    Wagtail's bulk-action script sends the listing's query string along with ``id=all`` and
    ``next`` (the listing's URL). When ``next`` is a user listing (System users, Settings >
    Users or a project's own user viewset), its view builds the queryset, so the selection is
    exactly what the manager saw, whatever filters that listing has. Otherwise the System
    users filters are applied to the query string.
    """
    next_url = request.GET.get("next") or ""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "view_class", None) if match else None
    if view_class is not None and issubclass(view_class, BaseListingView):
        view = view_class(**getattr(match.func, "view_initkwargs", {}))
        if getattr(view, "model", None) is User:
            view.setup(request, *match.args, **match.kwargs)
            queryset = view.get_queryset()
            if isinstance(queryset, QuerySet):
                return queryset.order_by().values("pk")
            # A search backend's results: only their keys are needed.
            return [user.pk for user in queryset]
    return filter_users(request.GET).order_by().values("pk")


class LicensingUserBulkAction(BulkAction):
    """A bulk action on users for license managers (CanManageLicUsers) and superusers."""

    models = [User]
    # Shown on the System users listing (other user actions are not).
    licensing_action = True
    # How many of the selected users the confirmation page names.
    sample_size = 50

    @classmethod
    def is_shown(cls, request):
        return can_manage_licenses(request.user)

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_licenses(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def check_perm(self, obj):
        return can_manage_licenses(self.request.user)

    # The selection, as a queryset ---------------------------------------------------------

    @property
    def selected_users(self):
        if not hasattr(self, "_selected_users"):
            ids = self.request.GET.getlist("id")
            if "all" in ids:
                pks = listing_queryset(self.request)
            else:
                pks = []
                for raw in ids:
                    try:
                        pks.append(User._meta.pk.to_python(raw))
                    except ValidationError:
                        continue
            self._selected_users = User._default_manager.filter(pk__in=pks)
        return self._selected_users

    def get_actionable_objects(self):
        return self.selected_users, {"items_with_no_access": []}

    # The confirmation page -----------------------------------------------------------------

    def get_options(self):
        raise NotImplementedError

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["options"] = self.options
        return kwargs

    @property
    def options(self):
        if not hasattr(self, "_options"):
            self._options = self.get_options()
        return self._options

    def get_context_data(self, **kwargs):
        users = self.selected_users
        count = users.count()
        sample = list(with_licensing(users).order_by(User.USERNAME_FIELD, "pk")[
            : self.sample_size])
        context = super(BulkAction, self).get_context_data(**kwargs)
        context.update({
            "items": [{"item": user, "is_portal": getattr(user, PORTAL_ANNOTATION, False)}
                      for user in sample],
            "count": count,
            "more_count": max(count - len(sample), 0),
            "items_with_no_access": [],
            "options": self.options,
            "next": self.next_url,
            "submit_url": self.request.path + "?" + self.request.META["QUERY_STRING"],
            "model_opts": self.model._meta,
        })
        return context

    # Submitting ------------------------------------------------------------------------------

    def run_operation(self, users, codes):
        """Call the operation; returns its result (worded by ``wording.messages``)."""
        raise NotImplementedError

    def form_valid(self, form):
        self.cleaned_form = form
        users = self.selected_users
        if not users.exists():
            messages.warning(self.request, _("No users were selected, so nothing changed."))
            return redirect(self.next_url)
        with transaction.atomic():
            for hook in hooks.get_hooks("before_bulk_action"):
                response = hook(self.request, self.action_type, users, self)
                if hasattr(response, "status_code"):
                    return response
            result = self.run_operation(users, form.cleaned_data["products"])
            for hook in hooks.get_hooks("after_bulk_action"):
                response = hook(self.request, self.action_type, users, self)
                if hasattr(response, "status_code"):
                    return response
        report(self.request, wording.messages(result))
        return redirect(self.next_url)


def licensing_bulk_action_url(action_type):
    """Where the licensing bulk actions' buttons point: inside the System users URLs, so that
    a license manager without a license of their own (who may use only licensing screens)
    can use them. Wagtail's generic ``/admin/bulk/...`` URL serves them too."""
    return reverse(f"{URL_NAMESPACE}:bulk_action", args=[action_type])


def bulk_action_view(request, action):
    """Run a licensing bulk action on users, as Wagtail's bulk action dispatcher does."""
    action_class = bulk_action_registry.get_bulk_action_class(
        User._meta.app_label, User._meta.model_name, action)
    if action_class is None or not getattr(action_class, "licensing_action", False):
        raise Http404
    return action_class(request, User).dispatch(request)
