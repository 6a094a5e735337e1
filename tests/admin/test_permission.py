"""CanManageLicUsers: one permission, granted through Wagtail's group editor."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from wagtail_licensing.models import MANAGE_PERMISSION

pytestmark = pytest.mark.django_db


def test_permission_name():
    app_label, codename = MANAGE_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    assert permission.name == "Can manage user licenses (CanManageLicUsers)"


def test_group_editor_offers_and_saves_the_permission(client, superuser, make_users):
    permission = Permission.objects.get(codename="can_manage_lic_users")
    client.force_login(superuser)
    content = client.get(reverse("wagtailusers_groups:add")).content.decode()
    assert "Can manage user licenses (CanManageLicUsers)" in content
    assert f'name="permissions" value="{permission.pk}"' in content

    # Ticking it in the group editor is all it takes to make license managers.
    group = Group.objects.create(name="License managers")
    response = client.get(reverse("wagtailusers_groups:edit", args=[group.pk]))
    form = response.context["form"]
    data = {"name": "License managers", "permissions": [str(permission.pk)]}
    for formset in response.context["permission_panels"]:
        management = getattr(formset, "management_form", None)
        if management is None:  # a panel that is no formset (our Licenses panel)
            continue
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial)
    response = client.post(reverse("wagtailusers_groups:edit", args=[group.pk]), data)
    assert response.status_code == 302, form.errors
    assert list(group.permissions.all()) == [permission]
    (user,) = make_users(1)
    user.groups.add(group)
    assert user.has_perm(MANAGE_PERMISSION)
