"""The Licenses tab of the user edit page (Settings > Users, or a project's own user viewset).

Rendering: the template ``wagtailusers/users/edit.html`` of this app adds the tab (see
``templates/wagtail_licensing/users/``). Saving: the tab's fields post with the user form, and
Wagtail's ``after_edit_user`` hook calls ``save_licenses_tab`` once the user is saved, so that
a deactivation in the same save is already in effect when seats are counted.

A project whose user edit view does not run ``after_edit_user`` calls ``save_licenses_tab``
itself after saving the user.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages

from ..permissions import MANAGE, permission_policy
from ..user_forms import UserLicensesForm
from .feedback import report

SAVED_FLAG = "_wagtail_licensing_tab_saved"


def licenses_tab_submitted(request: HttpRequest) -> bool:
    return request.method == "POST" and f"{UserLicensesForm.prefix}-present" in request.POST


def save_licenses_tab(request: HttpRequest, user: AbstractBaseUser) -> None:
    """Grant and recall what the manager changed on the Licenses tab, and report it.

    Does nothing unless the request posted the tab and comes from a license manager; runs at
    most once per request.
    """
    if getattr(request, SAVED_FLAG, False) or not licenses_tab_submitted(request):
        return
    if not permission_policy.user_has_permission(request.user, MANAGE):
        return
    setattr(request, SAVED_FLAG, True)
    form = UserLicensesForm(request.POST, user=user)
    if not form.is_valid():
        messages.error(request, _("The licenses were not changed: a product on the Licenses "
                                  "tab is not available any more. Open the tab and try again."))
        return
    report(request, form.save(user=request.user))
