"""Seed the example site: users, groups, a demo vendor key pair and a signed demo license.

Idempotent: running it again changes nothing that is already there.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_licensing import operations
from wagtail_licensing.exceptions import LicensingError
from wagtail_licensing.license_file import sign_payload
from wagtail_licensing.models import AssignmentSource, LicensingState, PortalUser
from wagtail_licensing.vendor import keygen, load_private_key

EDITOR_GROUPS = ["Editors", "Moderators", "Marketing"]
EDITORS = 50
PORTAL_USERS = 5


class Command(BaseCommand):
    help = "Create the demo users, groups and license (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument("--keys-dir", default="example_site/var/vendor-keys")
        parser.add_argument("--kid", default="demo")

    def handle(self, keys_dir, kid, **options):
        User = get_user_model()
        admin = self._user("admin", "admin", first_name="Ada", last_name="Admin",
                           is_superuser=True)
        managers = self._group("License managers", ["wagtailadmin.access_admin",
                                                     "wagtail_licensing.can_manage_lic_users"])
        manager = self._user("manager", "manager", first_name="Morgan", last_name="Manager")
        manager.groups.add(managers)
        groups = {name: self._group(name, ["wagtailadmin.access_admin"]) for name in
                  EDITOR_GROUPS}
        first = ["Alex", "Sam", "Jo", "Chris", "Robin", "Kim", "Lee", "Pat", "Max", "Ren"]
        last = ["Smith", "Jones", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Khan"]
        editors = []
        for i in range(1, EDITORS + 1):
            user = self._user(f"editor{i}", "editor", first_name=first[i % len(first)],
                              last_name=last[i % len(last)], is_active=i != EDITORS)
            user.groups.add(groups[EDITOR_GROUPS[i % len(EDITOR_GROUPS)]])
            editors.append(user)
        portal = []
        for i in range(1, PORTAL_USERS + 1):
            user = self._user(f"portal{i}", "portal", first_name="Customer", last_name=str(i))
            PortalUser.objects.get_or_create(user=user, defaults={"created_by": admin})
            portal.append(user)

        state = LicensingState.get()
        if state.installed_file_id is None:
            text = self._license(Path(keys_dir), kid, state)
            try:
                operations.install_license_file(text, user=admin)
            except LicensingError as exc:
                # Typically: the key pair was just created, and this process loaded the
                # vendor keys before it existed. `make demo` creates the keys first.
                raise CommandError(
                    f"{exc.message} The site must load the demo public key: set "
                    f"WAGTAIL_LICENSING_VENDOR_KEYS_DIR={keys_dir} (as `make demo` does) and "
                    "run seed_demo again.") from exc
            self.stdout.write("Installed the demo license.")
        # The superuser and the license manager hold a license like everybody else. Recall the
        # manager's to see how a license manager without one is limited to licensing screens.
        seats = [("cms-editor", [admin, manager, *editors[:30]]), ("cms-marketing", editors[:8]),
                 ("cms-occasional", editors[30:45]), ("analytics", editors[:20]),
                 ("customer-portal", portal[:3])]
        for code, users in seats:
            operations.grant(User.objects.filter(pk__in=[u.pk for u in users]), [code],
                             user=admin, source=AssignmentSource.COMMAND)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {User.objects.count()} users, license "
            f"{LicensingState.get().installed_file}."))

    def _user(self, username, password, is_superuser=False, **fields):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={**fields, "email": f"{username}@example.com", "is_staff": is_superuser,
                      "is_superuser": is_superuser},
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user

    def _group(self, name, permissions):
        group, _created = Group.objects.get_or_create(name=name)
        for perm in permissions:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                         codename=codename))
        return group

    def _license(self, keys_dir, kid, state):
        key_path = keys_dir / f"{kid}.key"
        if not key_path.exists():
            if (keys_dir / f"{kid}.pem").exists():
                raise CommandError(f"{keys_dir / (kid + '.pem')} exists without its private key.")
            keygen(kid, keys_dir)
            self.stdout.write(f"Created the demo vendor key pair in {keys_dir}. Restart the "
                              "site so that it loads the public key.")
        today = timezone.localdate()
        year = (today + timedelta(days=365)).isoformat()

        def product(code, name, ptype, seats, until=year):
            return {"code": code, "name": name, "type": ptype, "seats": seats,
                    "valid_from": (today - timedelta(days=30)).isoformat(), "valid_until": until}

        payload = {
            "format": 1,
            "license_id": f"DEMO-{str(state.instance_id)[:8].upper()}",
            "company_id": "ACME-DEMO",
            "instance_id": str(state.instance_id),
            "license_version": "1.0",
            "issued_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "products": [
                product("cms-editor", "Wagtail CMS editor", "named", 40),
                product("cms-marketing", "Marketing studio", "named", 10,
                        (today + timedelta(days=20)).isoformat()),
                product("cms-occasional", "Occasional editor (concurrent)", "concurrent", 5),
                product("analytics", "Analytics (server license)", "named", None),
                product("customer-portal", "Customer portal", "portal", 20),
            ],
        }
        return sign_payload(payload, load_private_key(key_path), kid,
                            header="wagtail-licensing demo license")
