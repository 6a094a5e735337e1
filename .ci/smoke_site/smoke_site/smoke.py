"""The License manager and enforcement through Django's test client, against the installed
wheel: `python manage.py shell -c "from smoke_site.smoke import run; run()"`."""

import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

import wagtail_licensing


def run() -> None:
    where = wagtail_licensing.__file__
    assert "site-packages" in where, f"wagtail_licensing comes from {where}, not the wheel"
    User = get_user_model()
    admin = User.objects.get(username="admin")
    editors = Group.objects.create(name="Smoke editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    editor = User.objects.create_user("editor", "editor@example.com", "editor")
    editor.groups.add(editors)

    client = Client()
    client.force_login(admin)
    page = client.get("/admin/licensing/", secure=True)
    assert page.status_code == 200, page.status_code
    content = page.content.decode()
    for expected in ("License manager", "SMOKE", "cms-editor", "CMS editor"):
        assert expected in content, f"{expected!r} is not on the License manager page"

    other = Client()
    other.force_login(editor)
    refused = other.get("/admin/", secure=True)
    assert refused.status_code == 403, refused.status_code  # holds no license
    assert "No license" in refused.content.decode()
    print(f"License manager: 200 for the superuser; the unlicensed editor: 403. ({where})",
          file=sys.stderr)
