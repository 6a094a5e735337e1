"""`licensing upload --dry-run` names the admin users the file would lock out (issue 12 item 2)."""

from io import StringIO

from django.core.management import call_command

from tests.support.licenses import product
from wagtail_licensing.models import LicenseFile


def test_dry_run_names_who_would_lose_the_admin(
    make_license, tmp_path, manager, make_users, editors_group
):
    make_users(2, prefix="ed", groups=[editors_group])
    path = tmp_path / "acme.lic"
    path.write_text(make_license(products=[product("editor", "named", 3, name="CMS editor")]))
    out = StringIO()
    call_command("licensing", "upload", str(path), "--dry-run", stdout=out)
    output = out.getvalue()
    assert (
        "3 active admin users hold none of this file's products and will lose access to "
        "the admin: ed0, ed1, manager (license manager: licensing screens only)."
    ) in output
    assert "Dry run: nothing was installed." in output
    assert not LicenseFile.objects.exists()
