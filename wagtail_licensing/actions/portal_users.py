"""Portal users: create an account with portal products, or convert a non-admin account."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from .. import wording
from ..exceptions import PortalUserError
from ..models import (
    AssignmentSource,
    LicenseAssignment,
    LicensedProduct,
    PortalUser,
    ProductType,
    has_field,
)
from . import counters
from .base import LicensingAction, product_codes
from .grant import GrantAction
from .recall import RecallAction
from .results import PortalUserResult

ACTION_PORTAL_USER = "wagtail_licensing.portal_user"
AFTER_PORTAL_USER_CREATED = "after_portal_user_created"


def portal_conversion_refusal(user: Any) -> str | None:
    """Why ``user`` cannot be converted into a portal user, or None. Changes nothing."""
    if PortalUser.objects.filter(user_id=user.pk).exists():
        return _("%(user)s is already a portal user.") % {"user": user.get_username()}
    reason = _admin_access_reason(user)
    if reason:
        return _("%(reason)s Portal users can never use the Wagtail admin, so this account "
                 "cannot become one.") % {"reason": reason}
    return None


def _admin_access_reason(user: Any) -> str | None:
    """Why ``user`` counts as an admin user (who must never become a portal user), or None.

    Reads permissions from the database rather than ``has_perm``, which answers False for
    inactive users whatever their groups allow.
    """
    if getattr(user, "is_superuser", False):
        return _("%(user)s is a superuser.") % {"user": user.get_username()}
    if getattr(user, "is_staff", False):
        return _("%(user)s is a staff member (Django admin access).") % {
            "user": user.get_username()}
    condition = Q()
    if hasattr(user, "user_permissions"):
        condition |= Q(user=user)
    if hasattr(user, "groups"):
        condition |= Q(group__in=user.groups.all())
    if condition and Permission.objects.filter(
        condition, content_type__app_label="wagtailadmin", codename="access_admin"
    ).exists():
        return _("%(user)s can access the Wagtail admin through their groups or permissions. "
                 "Remove that access first.") % {"user": user.get_username()}
    return None


class _PortalUserAction(LicensingAction[PortalUserResult]):
    log_action = ACTION_PORTAL_USER

    def hooks(self, result: PortalUserResult) -> list[tuple[str, dict[str, Any]]]:
        return [(AFTER_PORTAL_USER_CREATED, {"portal_user": result.user, "result": result})]


class CreatePortalUserAction(_PortalUserAction):
    """Create a portal user account and grant it portal products, all or nothing.

    The account gets no password (the site's password reset or invitation sets one) and no
    groups. If any product cannot be granted (no seat left, not a portal product, not valid
    today) nothing is created and ``PortalUserError`` says why.
    """

    def __init__(self, *, email: str, first_name: str = "", last_name: str = "",
                 username: str | None = None, codes: Iterable[str] = (), user: Any = None,
                 today: date | None = None) -> None:
        super().__init__(user=user)
        User = get_user_model()
        email = (email or "").strip()
        if hasattr(User._default_manager, "normalize_email"):
            email = User._default_manager.normalize_email(email)
        self.email = email
        self.username = (username or "").strip() or email
        self.first_name = first_name
        self.last_name = last_name
        self.codes = product_codes(codes)
        self.today = today

    def execute(self) -> PortalUserResult:
        if not self.email:
            raise PortalUserError(_("Enter the portal user's e-mail address."))
        return super().execute()

    def _run(self) -> PortalUserResult:
        User = get_user_model()
        email, username = self.email, self.username
        username_field = User.USERNAME_FIELD
        email_field = User.get_email_field_name()
        if User._default_manager.filter(**{f"{email_field}__iexact": email}).exists():
            raise PortalUserError(
                _("A user with the e-mail address %(email)s already exists. To make that "
                  "account a portal user, use “Convert to portal user” on it.")
                % {"email": email})
        if User._default_manager.filter(**{f"{username_field}__iexact": username}).exists():
            raise PortalUserError(_("The username %(username)s is taken. Choose another one.")
                                  % {"username": username})
        fields = {username_field: username, email_field: email}
        for name, value in (("first_name", self.first_name), ("last_name", self.last_name)):
            if has_field(User, name):
                fields[name] = (value or "").strip()
        account = User(**fields)
        account.set_unusable_password()
        try:
            account.full_clean(exclude=["password", "last_login"], validate_unique=False)
        except ValidationError as error:
            raise PortalUserError(" ".join(
                f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
                for name, messages in error.message_dict.items()
            )) from error
        account.save()
        PortalUser.objects.create(user=account, created_by=self.user)
        result = PortalUserResult(user=account)
        if self.codes:
            granted = GrantAction(User._default_manager.filter(pk=account.pk), self.codes,
                                  user=self.user, source=AssignmentSource.PORTAL,
                                  today=self.today).execute()
            problems = wording.portal_grant_problems(granted)
            if problems:
                raise PortalUserError(
                    _("The portal user was not created: %(problems)s")
                    % {"problems": " ".join(problems)})
            result.granted = granted
        return result

    def log_data(self, result: PortalUserResult) -> dict[str, Any]:
        granted = result.granted.granted.items() if result.granted else []
        return {"event": "created", "user": result.user.get_username(),
                "user_id": str(result.user.pk),
                "products": [code for code, names in granted if names]}


class ConvertToPortalUserAction(_PortalUserAction):
    """Make an existing non-admin user a portal user.

    Superusers, staff and users with Wagtail admin access are refused (``PortalUserError``):
    a portal user never reaches the admin. Licenses portal users cannot hold (named and
    concurrent products) are recalled in the same transaction.
    """

    def __init__(self, subject: Any, *, user: Any = None) -> None:
        super().__init__(user=user)
        self.subject = subject
        self.recalled_codes: list[str] = []

    def _run(self) -> PortalUserResult:
        User = get_user_model()
        state = self.state
        subject = User._default_manager.get(pk=self.subject.pk)
        refusal = portal_conversion_refusal(subject)
        if refusal:
            raise PortalUserError(refusal)
        portal_codes: set[str] = set()
        if state.installed_file_id:
            portal_codes = set(LicensedProduct.objects.filter(
                license_file_id=state.installed_file_id, type=ProductType.PORTAL,
            ).values_list("code", flat=True))
        self.recalled_codes = [
            code for code in LicenseAssignment.objects.filter(user=subject)
            .order_by("product_code").values_list("product_code", flat=True)
            if code not in portal_codes]
        result = PortalUserResult(user=subject)
        if self.recalled_codes:
            result.recalled = RecallAction(User._default_manager.filter(pk=subject.pk),
                                           self.recalled_codes, user=self.user,
                                           source=AssignmentSource.PORTAL).execute()
        PortalUser.objects.create(user=subject, created_by=self.user)
        return result

    def log_data(self, result: PortalUserResult) -> dict[str, Any]:
        return {"event": "converted", "user": result.user.get_username(),
                "user_id": str(result.user.pk), "recalled": self.recalled_codes}


class PortalStatusChanged(LicensingAction[None]):
    """A user became or stopped being a portal user (a ``PortalUser`` row saved or deleted,
    by the actions above or by site code): recount the products they hold, whose counters
    count the active portal holders. Not a licensing decision but its consequence, like a
    deactivation: no permission asked, nothing logged."""

    permission_required = False

    def __init__(self, user_key: Any) -> None:
        super().__init__()
        self.user_key = user_key

    def _run(self) -> None:
        counters.recount(LicenseAssignment.objects.filter(user_id=self.user_key)
                         .values_list("product_code", flat=True))
