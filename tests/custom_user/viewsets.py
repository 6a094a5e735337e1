"""The project's user viewset: a form with an extra field, templates under custom_user/users/
that extend Wagtail's (and so get the Licenses tab without doing anything)."""

from django import forms
from wagtail.users.forms import UserCreationForm, UserEditForm
from wagtail.users.views.users import UserViewSet


class MemberEditForm(UserEditForm):
    country = forms.CharField(required=False)

    class Meta(UserEditForm.Meta):
        fields = UserEditForm.Meta.fields | {"country"}


class MemberCreationForm(UserCreationForm):
    country = forms.CharField(required=False)

    class Meta(UserCreationForm.Meta):
        fields = UserCreationForm.Meta.fields | {"country"}


class MemberViewSet(UserViewSet):
    template_prefix = "custom_user/users/"

    def get_form_class(self, for_update=False):
        return MemberEditForm if for_update else MemberCreationForm
