"""What Grant licenses and Recall licenses share.

Wagtail's ``BulkAction`` runs the action: its ``form_valid`` calls ``prepare_action``, then,
in one transaction, the ``before_bulk_action`` hooks, ``execute_action`` and the
``after_bulk_action`` hooks. What differs here is the selection: Wagtail loads every selected
object and checks it one by one; here it stays a queryset from start to finish (the permission
is the same for every user, so it is checked once), so that acting on 10,000 users takes the
same number of queries as acting on ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin import messages
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.bulk_action.registry import bulk_action_registry

from ... import wording
from ...exceptions import LicensingError
from ...permissions import MANAGE, permission_policy
from ..base import LicensingPermissionMixin
from ..feedback import report
from ..user_listing import PORTAL_ANNOTATION, selected_users, url_name, with_licensing

User = get_user_model()


class LicensingUserBulkAction(BulkAction):
    """A bulk action on users for license managers (CanManageLicUsers) and superusers.

    Subclasses supply ``get_options`` (the products offered) and ``run(users, codes, user)``
    (the operation, returning a result with ``messages()``).
    """

    models = [User]
    # Shown on the System users listing (other user actions are not).
    licensing_action = True
    wagtail_licensing_screen = True
    # How many of the selected users the confirmation page names.
    sample_size = 50

    @classmethod
    def is_shown(cls, request: HttpRequest) -> bool:
        """Whether the listings offer the action to this user (their footers ask)."""
        return permission_policy.user_has_permission(request.user, MANAGE)

    def check_perm(self, obj: Any = None) -> bool:
        """CanManageLicUsers through the registered policy: the same answer for every
        selected user, so ``dispatch`` asks it once instead of once per user."""
        return permission_policy.user_has_permission(self.request.user, MANAGE)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.check_perm():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    # The selection, as a queryset ---------------------------------------------------------

    @property
    def selected_users(self) -> QuerySet:
        if not hasattr(self, "_selected_users"):
            self._selected_users = selected_users(self.request)
        return self._selected_users

    def get_actionable_objects(self) -> tuple[QuerySet, dict[str, list[Any]]]:
        return self.selected_users, {"items_with_no_access": []}

    # The confirmation page -----------------------------------------------------------------

    def get_options(self) -> list[Any]:
        raise NotImplementedError

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["options"] = self.options
        return kwargs

    @property
    def options(self) -> list[Any]:
        if not hasattr(self, "_options"):
            self._options = self.get_options()
        return self._options

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        users = self.selected_users
        count = users.count()
        sample = list(with_licensing(users).order_by(User.USERNAME_FIELD, "pk")[
            : self.sample_size])
        # BulkAction's own get_context_data would load every selected user: skip it.
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

    # Submitting (Wagtail's form_valid calls these) ----------------------------------------

    def prepare_action(self, objects: QuerySet, objects_without_access: Any) -> HttpResponse | None:
        if not objects.exists():
            messages.warning(self.request, _("No users were selected, so nothing changed."))
            return redirect(self.next_url)
        return None

    def get_execution_context(self) -> dict[str, Any]:
        return {"codes": self.cleaned_form.cleaned_data["products"], "user": self.request.user}

    def run(self, users: QuerySet, codes: list[str], user: Any) -> Any:
        """Call the operation; returns its result (worded by ``wording.messages``)."""
        raise NotImplementedError

    def execute_action(self, objects: QuerySet, codes: Sequence[str] = (),
                       user: Any = None, **kwargs: Any) -> tuple[int, int]:
        # A refusal of the whole operation (the license was deleted since the form was shown,
        # say) is reported, not raised: nothing changed, and the manager learns why.
        self.refusal: str | None = None
        try:
            self.result = self.run(objects, list(codes), user)
        except LicensingError as error:
            self.refusal = error.message
        # Wagtail's counts only feed its success message, which get_success_message replaces.
        return 0, 0

    def get_success_message(self, num_parent_objects: int, num_child_objects: int) -> None:
        # The operation's result says what happened (granted, refused, already held) in one
        # message of the right level, not Wagtail's single green count.
        if self.refusal is not None:
            report(self.request, [("error", self.refusal)])
        else:
            report(self.request, wording.messages(self.result))
        return None


def licensing_bulk_action_url(action_type: str) -> str:
    """Where the licensing bulk actions' buttons point: inside the System users URLs, so that
    a license manager without a license of their own (who may use only licensing screens)
    can use them. Wagtail's generic ``/admin/bulk/...`` URL serves them too."""
    return reverse(url_name("bulk_action"), args=[action_type])


class LicensingBulkActionView(LicensingPermissionMixin, View):
    """Run a licensing bulk action on users, as Wagtail's bulk action dispatcher does (after
    the permission check, so that nobody else learns which actions exist)."""

    def get(self, request: HttpRequest, action: str) -> HttpResponse:
        return self.run_action(request, action)

    post = get

    def run_action(self, request: HttpRequest, action: str) -> HttpResponse:
        action_class = bulk_action_registry.get_bulk_action_class(
            User._meta.app_label, User._meta.model_name, action)
        if action_class is None or not getattr(action_class, "licensing_action", False):
            raise Http404
        return action_class(request, User).dispatch(request)
