"""Forms of the License manager screens. They validate input; operations do the work."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# A license file is a few kilobytes of signed text; anything far larger is not one.
LICENSE_FILE_MAX_SIZE = 1024 * 1024


class UploadLicenseFileForm(forms.Form):
    license_file = forms.FileField(
        label=_("License file"),
        help_text=_("The .lic file your vendor sent in reply to your license request. "
                    "The next page shows what it changes before anything is installed."),
        widget=forms.ClearableFileInput(attrs={"accept": ".lic,.txt,text/plain"}),
    )

    def clean_license_file(self) -> UploadedFile:
        upload = self.cleaned_data["license_file"]
        if upload.size > LICENSE_FILE_MAX_SIZE:
            raise forms.ValidationError(
                _("This file is %(size)s; a license file is at most %(max)s. Check that you "
                  "chose the .lic file your vendor sent."),
                code="too_large",
                params={"size": filesizeformat(upload.size),
                        "max": filesizeformat(LICENSE_FILE_MAX_SIZE)},
            )
        # Any bytes are accepted here: the format ignores what lies outside its markers (a
        # vendor's header may be in any encoding), and the operations say what is wrong.
        self.content = upload.read()
        return upload


class _UserKeys(forms.MultipleChoiceField):
    """Primary keys of users: which of them can be granted is the grant action's to say."""

    def valid_value(self, value: Any) -> bool:
        return True


class ConfirmUploadForm(forms.Form):
    """Confirms (or cancels) the upload waiting server-side: it carries its token, never the
    file, and optionally the users to grant a product in the same confirmation."""

    token = forms.UUIDField(widget=forms.HiddenInput)
    grant_product = forms.CharField(required=False, max_length=255)
    grant_users = _UserKeys(required=False)


class LicenseRequestForm(forms.Form):
    company_id = forms.CharField(
        label=_("Company ID"), max_length=255,
        help_text=_("The company ID your vendor gave you."),
    )
    license_version = forms.CharField(
        label=_("License version"), max_length=255,
        help_text=_("The version of the software the license is for."),
    )

    def __init__(self, *args: Any, company_id: str = "", license_version: str = "",
                 **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).update({
            "company_id": company_id,
            "license_version": license_version,
        })
        super().__init__(*args, **kwargs)

    def clean_company_id(self) -> str:
        value = self.cleaned_data["company_id"].strip()
        if not value:
            raise forms.ValidationError(_("Enter the company ID your vendor gave you."),
                                        code="required")
        return value


class UserSelectionForm(forms.Form):
    """The users ticked in a listing (``user`` may repeat), limited to ``queryset``."""

    user: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        queryset=None,
        error_messages={
            "required": _("Select at least one user."),
            "invalid_choice": _("One of the selected users no longer exists or is not "
                                "listed here. Reload the page and select again."),
            "invalid_pk_value": _("One of the selected users no longer exists or is not "
                                  "listed here. Reload the page and select again."),
        },
    )

    def __init__(self, *args: Any, queryset: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if queryset is None:
            queryset = get_user_model()._default_manager.all()
        cast("forms.ModelMultipleChoiceField[Any]", self.fields["user"]).queryset = queryset


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        help_text=_("What the token is for, e.g. “Monitoring” or “Identity provider sync”."))
    read_only = forms.BooleanField(
        label=_("Read-only"), required=False, initial=True,
        help_text=_("A read-only token can read the license, products and assignments, but "
                    "not grant or recall licenses. Untick it only for provisioning."))


class GroupBindingForm(forms.Form):
    """Bind a product to a Wagtail group (Licensing > Groups)."""

    group: forms.ModelChoiceField[Group] = forms.ModelChoiceField(
        label=_("Group"), queryset=Group.objects.none())
    product = forms.ChoiceField(label=_("Product"))
    priority = forms.IntegerField(
        label=_("Priority"), min_value=0, initial=100,
        help_text=_("When seats run out, members of groups with a lower number are seated "
                    "first, then the earliest members."))

    def __init__(self, *args: Any, products: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Group]", self.fields["group"]).queryset = (
            Group.objects.order_by("name"))
        cast(forms.ChoiceField, self.fields["product"]).choices = products
