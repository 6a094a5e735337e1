"""A project's own user viewset, as Wagtail documents it: a custom form and its own
templates that do not extend Wagtail's user templates at all. The Licenses tab is added by
including wagtail-licensing's two partials (see docs/code.md)."""

from django import forms
from wagtail.users.forms import UserEditForm
from wagtail.users.views.users import UserViewSet


class ProjectUserEditForm(UserEditForm):
    nickname = forms.CharField(required=False, label="Nickname")


class ProjectUserViewSet(UserViewSet):
    template_prefix = "licensing_testapp/users/"

    def get_form_class(self, for_update=False):
        if for_update:
            return ProjectUserEditForm
        return super().get_form_class(for_update)
