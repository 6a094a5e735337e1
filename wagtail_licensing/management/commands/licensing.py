"""``manage.py licensing SUBCOMMAND``: the licensing operations from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wagtail_licensing import (
    group_status,
    operations,
    reclaim,
    search_indexes,
    status,
    uninstall,
    wording,
)
from wagtail_licensing.actions.group_results import result_data as group_result_data
from wagtail_licensing.exceptions import AlreadyInstalled, ImportRefused, LicensingError
from wagtail_licensing.formats import check_file_size, read_assignments
from wagtail_licensing.importing import ImportPlan
from wagtail_licensing.models import AssignmentSource
from wagtail_licensing.notifications import send_notices
from wagtail_licensing.resources import stream_assignments


class Command(BaseCommand):
    help = ("Show and change the site's licenses: status, request, upload, grant, recall, "
            "delete, notify, verify, snapshot, reclaim, export, import, search-indexes; "
            "uninstall removes the app's data.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True,
                                    parser_class=type(parser))

        p = sub.add_parser("status", help="the installed license and its products' seats")
        p.add_argument("--json", action="store_true", help="machine-readable output")

        p = sub.add_parser("request", help="write a license request (.tlr) for the vendor")
        p.add_argument("--company-id")
        p.add_argument("--license-version")
        p.add_argument("-o", "--output", help="file to write (default: the request's name)")

        p = sub.add_parser("upload", help="install a license file")
        p.add_argument("file")
        p.add_argument("--dry-run", action="store_true",
                       help="only show what would change")

        for name, verb in (("grant", "grant"), ("recall", "recall")):
            p = sub.add_parser(name, help=f"{verb} a product to or from users")
            p.add_argument("--product", action="append", required=True, dest="products")
            p.add_argument("usernames", nargs="+")

        p = sub.add_parser("delete", help="delete the installed licenses (demo mode)")
        p.add_argument("--yes", action="store_true", help="confirm")

        p = sub.add_parser("notify", help="e-mail the license managers the notices due "
                                          "(expiry, seats); run it daily from cron")
        p.add_argument("--dry-run", action="store_true",
                       help="only show the notices that are due")

        p = sub.add_parser("verify", help="recount the seat counters from the assignments "
                                          "and report any drift (exit status 1 if any)")
        p.add_argument("--fix", action="store_true", help="repair the counters that drifted")

        p = sub.add_parser("snapshot", help="take today's usage snapshot of every product "
                                            "(also taken by the first request of the day); "
                                            "for sites that prefer cron")

        p = sub.add_parser("reclaim", help="send the reclaim notices due and recall the seats "
                                           "idle RECLAIM_IDLE_DAYS (also run by the first "
                                           "request of the day); for sites that prefer cron")
        p.add_argument("--dry-run", action="store_true",
                       help="only show the notices that are due")

        p = sub.add_parser("export", help="export license assignments (CSV, XLSX or JSON)")
        p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
        p.add_argument("-o", "--output",
                       help="file to write (default: standard output; required for xlsx)")
        p.add_argument("--product", action="append", dest="products",
                       help="only this product code (repeatable)")

        p = sub.add_parser("import", help="import license assignments from a file")
        p.add_argument("file")
        p.add_argument("--dry-run", action="store_true",
                       help="only show what would change and the errors")
        p.add_argument("--format", choices=["csv", "xlsx", "json"],
                       help="the file's format (default: from its extension or content)")

        p = sub.add_parser("groups", help="group-based licensing: list, bind, unbind and "
                                          "reprocess the products bound to Wagtail groups")
        groups = p.add_subparsers(dest="groups_command", required=True,
                                  parser_class=type(parser))
        g = groups.add_parser("list", help="the bindings, their members, holders and errors")
        g.add_argument("--group", help="only this group (name)")
        g.add_argument("--errors", action="store_true",
                       help="also list every member left without a seat")
        g.add_argument("--json", action="store_true", help="machine-readable output")
        g = groups.add_parser("bind", help="bind products to a group (or change the priority)")
        g.add_argument("group", help="the group's name")
        g.add_argument("--product", action="append", required=True, dest="products")
        g.add_argument("--priority", type=int,
                       help="lower numbers are seated first when seats run out (default 100)")
        g.add_argument("--dry-run", action="store_true",
                       help="only show the seats needed and who would be left without one")
        g.add_argument("--json", action="store_true", help="machine-readable output")
        g = groups.add_parser("unbind", help="unbind products from a group")
        g.add_argument("group", help="the group's name")
        g.add_argument("--product", action="append", required=True, dest="products")
        g.add_argument("--json", action="store_true", help="machine-readable output")
        g = groups.add_parser("reprocess", help="give seats again in priority order and "
                                                "report the errors left (default: everything)")
        target = g.add_mutually_exclusive_group()
        target.add_argument("--group", help="only the products bound to this group")
        target.add_argument("--user", action="append", dest="usernames",
                            help="only this user (repeatable)")
        g.add_argument("--remove-manual", action="store_true",
                       help="with --group: members' direct grants of the group's products "
                            "become inherited (default: keep them)")
        g.add_argument("--json", action="store_true", help="machine-readable output")

        p = sub.add_parser("search-indexes", help="PostgreSQL: create trigram indexes on the "
                                                  "user columns that searches of users read "
                                                  "(docs/deployment.md), or --drop them")
        p.add_argument("--drop", action="store_true", help="drop the indexes instead")
        p.add_argument("--database", default="default")

        p = sub.add_parser("uninstall", help="before removing the app from INSTALLED_APPS: "
                                             "drop its tables, content types and permission, "
                                             "and keep its audit log entries readable")
        p.add_argument("--yes", action="store_true",
                       help="confirm (without it, only show what would be done)")
        p.add_argument("--database", default="default")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> str | None:
        try:
            return getattr(self, f"handle_{subcommand.replace('-', '_')}")(**options)
        except AlreadyInstalled as exc:
            self.stdout.write(str(exc))
            return None
        except LicensingError as exc:
            raise CommandError(str(exc)) from exc

    def handle_status(self, json: bool = False, **options: Any) -> None:
        data = status.site_status()
        if json:
            self.stdout.write(_dumps(data))
            return
        license = data["license"]
        labels = [_("Company:"), _("Instance ID:"), _("License:")]
        width = max(len(label) for label in labels) + 2
        company, instance, license_label = (label.ljust(width) for label in labels)
        self.stdout.write(f"{company}{data['company_id'] or '-'}")
        self.stdout.write(f"{instance}{data['instance_id']}")
        if license is None:
            self.stdout.write(license_label + _("demo mode: no licenses installed"))
            return
        self.stdout.write(license_label + _(
            "%(license_id)s (version %(version)s, issued %(issued_at)s, installed "
            "%(installed_at)s by %(installed_by)s)") % {
                "license_id": license["license_id"],
                "version": license["license_version"] or "-",
                "issued_at": license["issued_at"], "installed_at": license["installed_at"],
                "installed_by": license["installed_by"] or "-"})
        rows = [(_("CODE"), _("TYPE"), _("SEATS"), _("USED"), _("AVAILABLE"), _("VALID FROM"),
                 _("VALID UNTIL"), _("STATE"))]
        for p in data["products"]:
            rows.append((p["code"], p["type"], _seats(p["seats"]), str(p["used"]),
                         _seats(p["available"]), p["valid_from"], p["valid_until"], p["state"]))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths,
                                                                         strict=True)).rstrip())
        problems = data["licensing_problems"]
        if problems:
            self.stdout.write(self.style.WARNING(
                f"Licensing problems: {sum(problems.values())} members of bound groups have no "
                "seat (" + ", ".join(f"{code} {n}" for code, n in sorted(problems.items()))
                + "). See `licensing groups list --errors`."))

    def handle_request(self, company_id: str | None = None, license_version: str | None = None,
                       output: str | None = None, **options: Any) -> None:
        request = operations.create_license_request(company_id=company_id,
                                                    license_version=license_version)
        path = Path(output or request.filename)
        path.write_bytes(request.content)
        self.stdout.write(_("Wrote the license request %(path)s. Send it to your vendor.")
                          % {"path": path})

    def handle_upload(self, file: str, dry_run: bool = False, **options: Any) -> None:
        try:
            content = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s")
                               % {"file": file, "error": exc.strerror}) from exc
        preview = operations.preview_upload(content)
        self.stdout.write(_("License file %(license_id)s for company %(company_id)s:")
                          % {"license_id": preview.payload.license_id,
                             "company_id": preview.payload.company_id})
        for change in preview.changes:
            line = f"  {change.kind:<9} {change.code} ({change.name})"
            if change.details:
                line += ": " + "; ".join(f"{d['label']} {_seats(d['old'])} -> {_seats(d['new'])}"
                                         for d in change.details)
            self.stdout.write(line)
        for warning in preview.warnings:
            self.stdout.write(self.style.WARNING(
                "  " + _("warning: %(warning)s") % {"warning": warning}))
        if preview.locked_out_count:
            names = ", ".join(
                _("%(username)s (license manager: licensing screens only)") % {
                    "username": u.username} if u.manager else u.username
                for u in preview.locked_out)
            more = preview.locked_out_count - len(preview.locked_out)
            if more > 0:
                names = _("%(names)s and %(count)d more") % {"names": names, "count": more}
            self.stdout.write(self.style.WARNING("  " + ngettext(
                "warning: %(count)d active admin user holds none of this file's products and "
                "will lose access to the admin: %(names)s.",
                "warning: %(count)d active admin users hold none of this file's products and "
                "will lose access to the admin: %(names)s.",
                preview.locked_out_count) % {"count": preview.locked_out_count, "names": names}))
        if dry_run:
            self.stdout.write(_("Dry run: nothing was installed."))
            return
        result = operations.install_license_file(content)
        self.stdout.write(self.style.SUCCESS(
            _("Installed license file %(license_id)s.")
            % {"license_id": result.license_file.license_id}))

    def _users(self, usernames: list[str]) -> QuerySet[Any]:
        User = get_user_model()
        users = User._default_manager.filter(**{f"{User.USERNAME_FIELD}__in": usernames})
        found = set(users.values_list(User.USERNAME_FIELD, flat=True))
        missing = [name for name in usernames if name not in found]
        if missing:
            raise CommandError(_("Unknown users: %(usernames)s. Nothing was changed.")
                               % {"usernames": ", ".join(missing)})
        return users

    def _report(self, messages: Iterable[wording.Message]) -> None:
        styles = {"success": self.style.SUCCESS, "warning": self.style.WARNING,
                  "error": self.style.ERROR}
        for level, text in messages:
            self.stdout.write(styles.get(level, str)(text))

    def handle_grant(self, products: list[str], usernames: list[str], **options: Any) -> None:
        result = operations.grant(self._users(usernames), products,
                                  source=AssignmentSource.COMMAND)
        self._report(wording.grant_messages(result))
        if result.refused:
            raise CommandError(_("Some products were refused: see above."))

    def handle_recall(self, products: list[str], usernames: list[str], **options: Any) -> None:
        result = operations.recall(self._users(usernames), products,
                                   source=AssignmentSource.COMMAND)
        self._report(wording.recall_messages(result))

    def handle_delete(self, yes: bool = False, **options: Any) -> None:
        if not yes:
            raise CommandError(_("Deleting licenses puts the site in demo mode. Add --yes to "
                                 "confirm."))
        previous = operations.delete_licenses()
        self.stdout.write(self.style.SUCCESS(
            _("Deleted the installed licenses (%(license_id)s): the site runs in demo mode. "
              "History and assignments are kept; upload a license file to restore them.")
            % {"license_id": previous.license_id}))

    def handle_notify(self, dry_run: bool = False, **options: Any) -> None:
        result = send_notices(dry_run=dry_run)
        due = result.sent or result.skipped_no_recipients
        if not due:
            self.stdout.write(_("No notice is due."))
        for notice in due:
            self.stdout.write(f"  {notice.describe()}")
        if dry_run:
            self.stdout.write(ngettext(
                "Dry run: nothing was sent (%(due)d due, %(count)d license managers with an "
                "e-mail address).",
                "Dry run: nothing was sent (%(due)d due, %(count)d license managers with an "
                "e-mail address).", len(result.recipients))
                % {"due": len(due), "count": len(result.recipients)})
        elif result.skipped_no_recipients:
            raise CommandError(_("No license manager has an e-mail address, so nothing was "
                                 "sent. Give them one in Settings > Users."))
        elif result.sent:
            self.stdout.write(self.style.SUCCESS(ngettext(
                "Sent %(notices)d notices to %(count)d license managers.",
                "Sent %(notices)d notices to %(count)d license managers.",
                len(result.recipients))
                % {"notices": len(result.sent), "count": len(result.recipients)}))

    def handle_verify(self, fix: bool = False, **options: Any) -> None:
        drifted = operations.counter_drift()
        bindings = operations.binding_count_drift()
        census = operations.census_drift()
        holders = operations.license_holders_drift()
        for d in drifted:
            self.stdout.write("  " + _(
                "%(code)s: counted %(used)s seats used, %(holders)s holders (%(active)s "
                "active, %(portal)s of them portal users); the assignments say "
                "%(actual_used)s, %(actual_holders)s (%(actual_active)s active, "
                "%(actual_portal)s portal users)") % {
                    "code": d.code, "used": d.kept.used, "holders": d.kept.holders,
                    "active": d.kept.active_holders, "portal": d.kept.active_portal,
                    "actual_used": d.actual.used, "actual_holders": d.actual.holders,
                    "actual_active": d.actual.active_holders,
                    "actual_portal": d.actual.active_portal})
        if bindings is not None:
            self.stdout.write("  " + _(
                "group bindings: counted %(kept)s, there are %(actual)s") % {
                    "kept": bindings.kept, "actual": bindings.actual})
        if holders is not None:
            self.stdout.write("  " + _(
                "license holders: counted %(kept)s users who hold a license, there are "
                "%(actual)s") % {"kept": holders.kept, "actual": holders.actual})
        if census is not None:
            self.stdout.write("  " + _(
                "user census: counted %(users)s users, %(active)s active (%(portal)s portal "
                "users); there are %(actual_users)s, %(actual_active)s "
                "(%(actual_portal)s)") % {
                    "users": census.kept.users, "active": census.kept.active_users,
                    "portal": census.kept.active_portal_users,
                    "actual_users": census.actual.users,
                    "actual_active": census.actual.active_users,
                    "actual_portal": census.actual.active_portal_users})
        if not drifted and bindings is None and census is None and holders is None:
            self.stdout.write(self.style.SUCCESS(_("The seat counters match the assignments.")))
            return
        if not fix:
            if drifted:
                raise CommandError(ngettext(
                    "The seat counters of %(count)d products differ from the assignments. Run "
                    "`manage.py licensing verify --fix` to repair them.",
                    "The seat counters of %(count)d products differ from the assignments. Run "
                    "`manage.py licensing verify --fix` to repair them.", len(drifted))
                    % {"count": len(drifted)})
            if bindings is not None:
                raise CommandError(_(
                    "The count of group bindings differs from the bindings. Run "
                    "`manage.py licensing verify --fix` to repair it."))
            if holders is not None:
                raise CommandError(_(
                    "The count of users who hold a license differs from the assignments. Run "
                    "`manage.py licensing verify --fix` to repair it."))
            raise CommandError(_(
                "The user census differs from the users (site code created or changed users "
                "without signals). Run `manage.py licensing verify --fix` to repair it."))
        result = operations.repair_counters()
        if result.repaired or not (result.bindings or result.census or result.license_holders):
            self.stdout.write(self.style.SUCCESS(ngettext(
                "Repaired the seat counters of %(count)d products.",
                "Repaired the seat counters of %(count)d products.", len(result.repaired))
                % {"count": len(result.repaired)}))
        if result.bindings is not None:
            self.stdout.write(self.style.SUCCESS(_("Repaired the count of group bindings.")))
        if result.license_holders is not None:
            self.stdout.write(self.style.SUCCESS(_(
                "Repaired the count of users who hold a license.")))
        if result.census is not None:
            self.stdout.write(self.style.SUCCESS(_("Repaired the user census.")))

    def handle_search_indexes(self, drop: bool = False, database: str = "default",
                              **options: Any) -> None:
        if not search_indexes.supported(database):
            raise CommandError(_(
                "Trigram indexes are PostgreSQL's; on this database (%(vendor)s) a search of "
                "users reads every user, as Wagtail's own Users listing does. Nothing was "
                "changed.") % {"vendor": connections[database].vendor})
        try:
            changed = (search_indexes.drop if drop else search_indexes.create)(database)
        except search_indexes.SearchIndexError as error:
            raise CommandError(_(
                "PostgreSQL refused: %(reason)s. Creating the pg_trgm extension needs the "
                "right to create extensions in this database (its owner, on PostgreSQL 13 "
                "or later); a superuser can run `CREATE EXTENSION pg_trgm;` first.") % {
                    "reason": error}) from error
        for index in changed:
            self.stdout.write("  " + (_("dropped %(name)s (%(table)s.%(column)s)") if drop
                                      else _("created %(name)s (%(table)s.%(column)s)")) % {
                "name": index.name, "table": index.table, "column": index.column})
        if drop:
            self.stdout.write(self.style.SUCCESS(ngettext(
                "Dropped %(count)d search index.", "Dropped %(count)d search indexes.",
                len(changed)) % {"count": len(changed)}))
            return
        self.stdout.write(self.style.SUCCESS(ngettext(
            "Created %(count)d search index; searches of users read the indexes of %(total)d "
            "columns.",
            "Created %(count)d search indexes; searches of users read the indexes of %(total)d "
            "columns.", len(changed)) % {"count": len(changed),
                                        "total": len(search_indexes.wanted())}))

    def handle_snapshot(self, **options: Any) -> None:
        result = operations.take_usage_snapshot()
        if not result.products:
            self.stdout.write(_("No license is installed: no product to take a snapshot of."))
        else:
            self.stdout.write(self.style.SUCCESS(ngettext(
                "Took the usage snapshot of %(day)s for %(count)d products (%(products)s).",
                "Took the usage snapshot of %(day)s for %(count)d products (%(products)s).",
                len(result.products))
                % {"day": result.day.isoformat(), "count": len(result.products),
                   "products": ", ".join(result.products)}))
        if result.pruned:
            self.stdout.write(ngettext(
                "Deleted %(count)d snapshots older than the retention period "
                "(USAGE_RETENTION_DAYS).",
                "Deleted %(count)d snapshots older than the retention period "
                "(USAGE_RETENTION_DAYS).", result.pruned) % {"count": result.pruned})

    def handle_reclaim(self, dry_run: bool = False, **options: Any) -> None:
        result = reclaim.run_reclaim(dry_run=dry_run)
        if not result.enabled:
            self.stdout.write(_("Automatic reclaim is off: set RECLAIM_IDLE_DAYS to turn it "
                                "on."))
            return
        for line in reclaim.describe(result):
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(ngettext(
                "Dry run: nothing was sent or recalled (%(count)d notices due).",
                "Dry run: nothing was sent or recalled (%(count)d notices due).",
                len(result.noticed)) % {"count": len(result.noticed)})
            return
        self.stdout.write(self.style.SUCCESS(ngettext(
            "Sent %(count)d reclaim notices, reclaimed %(seats)d idle seats.",
            "Sent %(count)d reclaim notices, reclaimed %(seats)d idle seats.",
            len(result.noticed))
            % {"count": len(result.noticed), "seats": result.reclaimed.recalled_count}))

    def handle_export(self, format: str = "csv", output: str | None = None,
                      products: list[str] | None = None, **options: Any) -> None:
        if format == "xlsx" and not output:
            raise CommandError(_("XLSX is binary: name the file to write with -o FILE."))
        # Progress on a terminal only: piped or redirected, stderr stays quiet.
        progress = self._export_progress if self.stderr.isatty() else None
        export = stream_assignments(format, product_codes=products, progress=progress)
        if output:
            try:
                with Path(output).open("wb") as fh:
                    for chunk in export.chunks:
                        fh.write(chunk)
            except OSError as exc:
                raise CommandError(_("Cannot write %(file)s: %(error)s")
                                   % {"file": output, "error": exc.strerror}) from exc
            if progress:
                self.stderr.write("")
            self.stderr.write(ngettext("Wrote %(count)s license assignment to %(file)s.",
                                       "Wrote %(count)s license assignments to %(file)s.",
                                       export.rows)
                              % {"count": f"{export.rows:,}", "file": output})
        else:
            first = True
            for chunk in export.chunks:
                # Text formats: each chunk is whole characters. No BOM on a terminal or pipe.
                text = chunk.decode("utf-8-sig" if first else "utf-8")
                first = False
                self.stdout.write(text, ending="")
            self.stdout.flush()
            if progress:
                self.stderr.write("")

    def _export_progress(self, done: int, total: int) -> None:
        share = f" ({done * 100 // total}%)" if total else ""
        self.stderr.write("\r" + ngettext("Exported %(done)s of %(total)s assignments",
                                          "Exported %(done)s of %(total)s assignments", total)
                          % {"done": f"{done:,}", "total": f"{total:,}"} + share, ending="")
        self.stderr.flush()

    def handle_import(self, file: str, dry_run: bool = False, format: str | None = None,
                      **options: Any) -> None:
        path = Path(file)
        try:
            check_file_size(path.stat().st_size)
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s")
                               % {"file": file, "error": exc.strerror}) from exc
        assignments = read_assignments(content, filename=path.name, format=format)
        plan = operations.preview_import(assignments)
        self._print_plan(plan)
        if plan.has_errors:
            raise CommandError(_("%(errors)s Nothing was imported.")
                               % {"errors": plan.error_summary()})
        if dry_run:
            self.stdout.write(_("Dry run: nothing was imported."))
            return
        try:
            # What is applied is what was just shown: if licensing changed meanwhile, stop.
            result = operations.import_assignments(assignments, expected_version=plan.version)
        except ImportRefused as exc:  # pragma: no cover - the version check comes first
            self._print_plan(exc.plan)
            raise CommandError(_("%(errors)s Nothing was imported.")
                               % {"errors": exc.message}) from exc
        self._report(wording.import_messages(result))
        self.stdout.write(self.style.SUCCESS(
            _("Imported %(file)s: %(granted)d granted, %(recalled)d recalled, %(unchanged)d "
              "unchanged.") % {"file": path.name, "granted": result.granted_count,
                               "recalled": result.recalled_count,
                               "unchanged": result.unchanged_count}))

    def handle_uninstall(self, yes: bool = False, database: str = "default",
                         **options: Any) -> None:
        plan = uninstall.make_plan(database)
        none = _("none")
        self.stdout.write(_("Uninstalling wagtail-licensing from this site:"))
        self.stdout.write("  " + _(
            "rewrite %(count)d of its %(total)d audit log entries so that they stay readable "
            "without the app (they are kept)")
            % {"count": plan.log_entries_to_rewrite, "total": plan.log_entries})
        self.stdout.write("  " + _("unapply its migrations, dropping its tables: %(migrations)s")
                          % {"migrations": ", ".join(plan.migrations) or _("none are applied")})
        line = _("delete its content types (%(content_types)s) and permission "
                 "(%(permissions)s)") % {
            "content_types": ", ".join(plan.content_types) or none,
            "permissions": ", ".join(plan.permissions) or none}
        if plan.groups_with_permission:
            line += _(", held by the groups %(groups)s") % {
                "groups": ", ".join(plan.groups_with_permission)}
        if plan.users_with_permission:
            line += _(" and %(count)d users directly") % {"count": plan.users_with_permission}
        self.stdout.write("  " + line)
        if plan.blocking_migrations:
            raise CommandError(_("These migrations of other apps depend on wagtail_licensing's "
                                 "and would be unapplied too: %(migrations)s. Nothing was "
                                 "changed.")
                               % {"migrations": ", ".join(plan.blocking_migrations)})
        if not yes:
            raise CommandError(_("This deletes every license, assignment and license file of "
                                 "the site (export them first: `licensing export`). Add --yes "
                                 "to uninstall."))
        result = uninstall.uninstall(database, verbosity=max(0, options["verbosity"] - 1))
        self.stdout.write(self.style.SUCCESS(
            _("Uninstalled: %(rewritten)d audit log entries rewritten, %(unapplied)d "
              "migrations unapplied, %(content_types)d content types deleted. Now remove "
              "'wagtail_licensing' (and 'import_export' if nothing else uses it) from "
              "INSTALLED_APPS and the middleware from MIDDLEWARE, before running `migrate` "
              "again.") % {"rewritten": result.rewritten, "unapplied": len(result.unapplied),
                           "content_types": result.deleted_content_types}))
        if result.dropped_search_indexes:
            self.stdout.write(_("Dropped the search indexes on the user table: %(names)s.")
                              % {"names": ", ".join(result.dropped_search_indexes)})
        if result.search_indexes_error:
            self.stderr.write(_("The search indexes on the user table could not be dropped "
                                "(%(reason)s): drop the wl_trgm_* indexes by hand.")
                              % {"reason": result.search_indexes_error})

    def handle_groups(self, groups_command: str, **options: Any) -> None:
        getattr(self, f"_groups_{groups_command}")(**options)

    def _group(self, name: str) -> Group:
        try:
            return Group.objects.get(name=name)
        except Group.DoesNotExist as exc:
            raise CommandError(f"Unknown group: {name}. Nothing was changed.") from exc

    def _groups_list(self, group: str | None = None, errors: bool = False,
                     json: bool = False, **options: Any) -> None:
        rows = group_status.bindings(self._group(group) if group else None)
        problems = [
            {"user": e.user.get_username(), "product": e.product_code, "group": e.group.name,
             "reason": e.reason}
            for e in group_status.errors(self._group(group) if group else None)
        ] if errors or json else []
        if json:
            self.stdout.write(_dumps({"bindings": [vars(r) for r in rows],
                                      "errors": problems}))
            return
        if not rows:
            self.stdout.write("No product is bound to a group.")
            return
        table = [("GROUP", "PRODUCT", "PRIORITY", "MEMBERS", "HOLDERS", "ERRORS")]
        table += [(r.group, r.code, str(r.priority), str(r.members), str(r.holders),
                   str(r.errors)) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths,
                                                                         strict=True)).rstrip())
        for p in problems:
            self.stdout.write(self.style.WARNING(
                f"  {p['user']}: no {p['product']} from {p['group']} ({p['reason']})"))

    def _groups_bind(self, group: str, products: list[str], priority: int | None = None,
                     dry_run: bool = False, json: bool = False, **options: Any) -> None:
        target = self._group(group)
        previews = operations.preview_group_binding(target, products)
        if dry_run:
            if json:
                self.stdout.write(_dumps({"preview": [vars(p) for p in previews]}))
                return
            for p in previews:
                if not p.installed:
                    self.stdout.write(self.style.ERROR(f"  {p.code}: not in the installed "
                                                       "license"))
                    continue
                self.stdout.write(
                    f"  {p.code}: {p.members} active members, {p.already} hold it already, "
                    f"{p.needed} need a seat, {_seats(p.available)} available"
                    + (f", {p.ineligible} cannot hold it" if p.ineligible else ""))
                if p.left_without:
                    self.stdout.write(self.style.WARNING(
                        f"    {p.left_without} would be left without a seat: "
                        + ", ".join(p.left_names)))
            self.stdout.write("Dry run: nothing was bound.")
            return
        result = operations.bind_group_licenses(target, products, priority=priority)
        self._group_result(result, json)
        if result.refused:
            raise CommandError("Some products were refused: see above.")

    def _groups_unbind(self, group: str, products: list[str], json: bool = False,
                       **options: Any) -> None:
        self._group_result(operations.unbind_group_licenses(self._group(group), products), json)

    def _groups_reprocess(self, group: str | None = None,
                          usernames: list[str] | None = None, remove_manual: bool = False,
                          json: bool = False, **options: Any) -> None:
        if remove_manual and not group:
            raise CommandError("--remove-manual needs --group.")
        result = operations.reprocess_group_licenses(
            group=self._group(group) if group else None,
            users=self._users(usernames) if usernames else None, remove_manual=remove_manual)
        self._group_result(result, json)

    def _group_result(self, result: operations.GroupLicensesResult, json: bool) -> None:
        if json:
            self.stdout.write(_dumps(group_result_data(result)))
            return
        self._report(wording.group_messages(result))

    def _print_plan(self, plan: ImportPlan) -> None:
        self.stdout.write(ngettext("%(file)s: %(count)d row (%(format)s).",
                                   "%(file)s: %(count)d rows (%(format)s).", plan.rows)
                          % {"file": plan.filename, "count": plan.rows, "format": plan.format})
        rows = [(_("PRODUCT"), _("GRANT"), _("RECALL"), _("UNCHANGED"), _("SEATS AFTER"))]
        for target in plan.products.values():
            rows.append((target.label, str(target.to_grant), str(target.to_recall),
                         str(target.unchanged),
                         "-" if target.available_after is None else str(target.available_after)))
        if len(rows) > 1:
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                self.stdout.write("  " + "  ".join(
                    cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        for error in plan.errors:
            self.stdout.write(self.style.ERROR(f"  {error}"))
        if plan.errors_left_out:
            self.stdout.write(self.style.ERROR("  " + ngettext(
                "... and %(count)d more error.", "... and %(count)d more errors.",
                plan.errors_left_out) % {"count": plan.errors_left_out}))
        self.stdout.write(plan.summary() + ".")


def _seats(value: int | None) -> str:
    return _("unlimited") if value is None else str(value)


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
