"""``manage.py licensing SUBCOMMAND``: the licensing operations from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from wagtail_licensing import group_status, operations, reclaim, status, uninstall, wording
from wagtail_licensing.exceptions import AlreadyInstalled, ImportRefused, LicensingError
from wagtail_licensing.formats import check_file_size, read_assignments
from wagtail_licensing.importing import ImportPlan
from wagtail_licensing.models import AssignmentSource
from wagtail_licensing.notifications import send_notices
from wagtail_licensing.resources import stream_assignments


class Command(BaseCommand):
    help = ("Show and change the site's licenses: status, request, upload, grant, recall, "
            "delete, notify, verify, snapshot, reclaim, export, import; uninstall removes the "
            "app's data.")

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

        p = sub.add_parser("uninstall", help="before removing the app from INSTALLED_APPS: "
                                             "drop its tables, content types and permission, "
                                             "and keep its audit log entries readable")
        p.add_argument("--yes", action="store_true",
                       help="confirm (without it, only show what would be done)")
        p.add_argument("--database", default="default")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> str | None:
        try:
            return getattr(self, f"handle_{subcommand}")(**options)
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
        self.stdout.write(f"Company:      {data['company_id'] or '-'}")
        self.stdout.write(f"Instance ID:  {data['instance_id']}")
        if license is None:
            self.stdout.write("License:      demo mode: no licenses installed")
            return
        self.stdout.write(f"License:      {license['license_id']} (version "
                          f"{license['license_version'] or '-'}, issued {license['issued_at']}, "
                          f"installed {license['installed_at']} by "
                          f"{license['installed_by'] or '-'})")
        rows = [("CODE", "TYPE", "SEATS", "USED", "AVAILABLE", "VALID FROM", "VALID UNTIL",
                 "STATE")]
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
        self.stdout.write(f"Wrote the license request {path}. Send it to your vendor.")

    def handle_upload(self, file: str, dry_run: bool = False, **options: Any) -> None:
        try:
            content = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        preview = operations.preview_upload(content)
        self.stdout.write(f"License file {preview.payload.license_id} for company "
                          f"{preview.payload.company_id}:")
        for change in preview.changes:
            line = f"  {change.kind:<9} {change.code} ({change.name})"
            if change.details:
                line += ": " + "; ".join(f"{d['label']} {_seats(d['old'])} -> {_seats(d['new'])}"
                                         for d in change.details)
            self.stdout.write(line)
        for warning in preview.warnings:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
        if dry_run:
            self.stdout.write("Dry run: nothing was installed.")
            return
        result = operations.install_license_file(content)
        self.stdout.write(self.style.SUCCESS(
            f"Installed license file {result.license_file.license_id}."))

    def _users(self, usernames: list[str]) -> QuerySet[Any]:
        User = get_user_model()
        users = User._default_manager.filter(**{f"{User.USERNAME_FIELD}__in": usernames})
        found = set(users.values_list(User.USERNAME_FIELD, flat=True))
        missing = [name for name in usernames if name not in found]
        if missing:
            raise CommandError("Unknown users: " + ", ".join(missing) + ". Nothing was changed.")
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
            raise CommandError("Some products were refused: see above.")

    def handle_recall(self, products: list[str], usernames: list[str], **options: Any) -> None:
        result = operations.recall(self._users(usernames), products,
                                   source=AssignmentSource.COMMAND)
        self._report(wording.recall_messages(result))

    def handle_delete(self, yes: bool = False, **options: Any) -> None:
        if not yes:
            raise CommandError("Deleting licenses puts the site in demo mode. Add --yes to "
                               "confirm.")
        previous = operations.delete_licenses()
        self.stdout.write(self.style.SUCCESS(
            f"Deleted the installed licenses ({previous.license_id}): the site runs in demo "
            "mode. History and assignments are kept; upload a license file to restore them."))

    def handle_notify(self, dry_run: bool = False, **options: Any) -> None:
        result = send_notices(dry_run=dry_run)
        due = result.sent or result.skipped_no_recipients
        if not due:
            self.stdout.write("No notice is due.")
        for notice in due:
            self.stdout.write(f"  {notice.describe()}")
        if dry_run:
            self.stdout.write(f"Dry run: nothing was sent ({len(due)} due, "
                              f"{len(result.recipients)} license managers with an e-mail "
                              "address).")
        elif result.skipped_no_recipients:
            raise CommandError("No license manager has an e-mail address, so nothing was "
                               "sent. Give them one in Settings > Users.")
        elif result.sent:
            self.stdout.write(self.style.SUCCESS(
                f"Sent {len(result.sent)} notices to {len(result.recipients)} license "
                "managers."))

    def handle_verify(self, fix: bool = False, **options: Any) -> None:
        drifted = operations.counter_drift()
        for d in drifted:
            self.stdout.write(
                f"  {d.code}: counted {d.kept.used} seats used, {d.kept.holders} holders "
                f"({d.kept.active_holders} active); the assignments say {d.actual.used}, "
                f"{d.actual.holders} ({d.actual.active_holders} active)")
        if not drifted:
            self.stdout.write(self.style.SUCCESS("The seat counters match the assignments."))
            return
        if not fix:
            raise CommandError(f"The seat counters of {len(drifted)} products differ from the "
                               "assignments. Run `manage.py licensing verify --fix` to "
                               "repair them.")
        repaired = operations.repair_counters().repaired
        self.stdout.write(self.style.SUCCESS(
            f"Repaired the seat counters of {len(repaired)} products."))

    def handle_snapshot(self, **options: Any) -> None:
        result = operations.take_usage_snapshot()
        if not result.products:
            self.stdout.write("No license is installed: no product to take a snapshot of.")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Took the usage snapshot of {result.day.isoformat()} for "
                f"{len(result.products)} products ({', '.join(result.products)})."))
        if result.pruned:
            self.stdout.write(f"Deleted {result.pruned} snapshots older than the retention "
                              "period (USAGE_RETENTION_DAYS).")

    def handle_reclaim(self, dry_run: bool = False, **options: Any) -> None:
        result = reclaim.run_reclaim(dry_run=dry_run)
        if not result.enabled:
            self.stdout.write("Automatic reclaim is off: set RECLAIM_IDLE_DAYS to turn it on.")
            return
        for line in reclaim.describe(result):
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(f"Dry run: nothing was sent or recalled ({len(result.noticed)} "
                              "notices due).")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Sent {len(result.noticed)} reclaim notices, reclaimed "
            f"{result.reclaimed.recalled_count} idle seats."))

    def handle_export(self, format: str = "csv", output: str | None = None,
                      products: list[str] | None = None, **options: Any) -> None:
        if format == "xlsx" and not output:
            raise CommandError("XLSX is binary: name the file to write with -o FILE.")
        # Progress on a terminal only: piped or redirected, stderr stays quiet.
        progress = self._export_progress if self.stderr.isatty() else None
        export = stream_assignments(format, product_codes=products, progress=progress)
        if output:
            try:
                with Path(output).open("wb") as fh:
                    for chunk in export.chunks:
                        fh.write(chunk)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}") from exc
            if progress:
                self.stderr.write("")
            noun = "assignment" if export.rows == 1 else "assignments"
            self.stderr.write(f"Wrote {export.rows:,} license {noun} to {output}.")
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
        self.stderr.write(f"\rExported {done:,} of {total:,} assignments{share}", ending="")
        self.stderr.flush()

    def handle_import(self, file: str, dry_run: bool = False, format: str | None = None,
                      **options: Any) -> None:
        path = Path(file)
        try:
            check_file_size(path.stat().st_size)
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        assignments = read_assignments(content, filename=path.name, format=format)
        plan = operations.preview_import(assignments)
        self._print_plan(plan)
        if plan.has_errors:
            raise CommandError(f"{plan.error_summary()} Nothing was imported.")
        if dry_run:
            self.stdout.write("Dry run: nothing was imported.")
            return
        try:
            # What is applied is what was just shown: if licensing changed meanwhile, stop.
            result = operations.import_assignments(assignments, expected_version=plan.version)
        except ImportRefused as exc:  # pragma: no cover - the version check comes first
            self._print_plan(exc.plan)
            raise CommandError(f"{exc.message} Nothing was imported.") from exc
        self._report(wording.import_messages(result))
        self.stdout.write(self.style.SUCCESS(
            f"Imported {path.name}: {result.granted_count} granted, {result.recalled_count} "
            f"recalled, {result.unchanged_count} unchanged."))

    def handle_uninstall(self, yes: bool = False, database: str = "default",
                         **options: Any) -> None:
        plan = uninstall.make_plan(database)
        self.stdout.write("Uninstalling wagtail-licensing from this site:")
        self.stdout.write(f"  rewrite {plan.log_entries_to_rewrite} of its {plan.log_entries} "
                          "audit log entries so that they stay readable without the app "
                          "(they are kept)")
        self.stdout.write("  unapply its migrations, dropping its tables: "
                          + (", ".join(plan.migrations) or "none are applied"))
        self.stdout.write("  delete its content types (" + (", ".join(plan.content_types)
                                                          or "none") + ") and permission ("
                          + (", ".join(plan.permissions) or "none") + ")"
                          + (f", held by the groups {', '.join(plan.groups_with_permission)}"
                             if plan.groups_with_permission else "")
                          + (f" and {plan.users_with_permission} users directly"
                             if plan.users_with_permission else ""))
        if plan.blocking_migrations:
            raise CommandError("These migrations of other apps depend on wagtail_licensing's "
                               "and would be unapplied too: "
                               + ", ".join(plan.blocking_migrations) + ". Nothing was changed.")
        if not yes:
            raise CommandError("This deletes every license, assignment and license file of the "
                               "site (export them first: `licensing export`). Add --yes to "
                               "uninstall.")
        result = uninstall.uninstall(database, verbosity=max(0, options["verbosity"] - 1))
        self.stdout.write(self.style.SUCCESS(
            f"Uninstalled: {result.rewritten} audit log entries rewritten, "
            f"{len(result.unapplied)} migrations unapplied, {result.deleted_content_types} "
            "content types deleted. Now remove 'wagtail_licensing' (and 'import_export' if "
            "nothing else uses it) from INSTALLED_APPS and the middleware from MIDDLEWARE, "
            "before running `migrate` again."))

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
            changes = result.changes
            self.stdout.write(_dumps({
                "event": str(result.event), "groups": result.groups, "products": result.codes,
                "bound": result.bound, "unbound": result.unbound, "refused": result.refused,
                "granted": changes.granted, "removed": changes.removed,
                "made_inherited": changes.made_inherited, "resolved": changes.resolved,
                "errors": changes.errors,
            }))
            return
        self._report(wording.group_messages(result))

    def _print_plan(self, plan: ImportPlan) -> None:
        self.stdout.write(f"{plan.filename}: {plan.rows} rows ({plan.format}).")
        rows = [("PRODUCT", "GRANT", "RECALL", "UNCHANGED", "SEATS AFTER")]
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
            self.stdout.write(self.style.ERROR(f"  ... and {plan.errors_left_out} more errors."))
        self.stdout.write(plan.summary() + ".")


def _seats(value: int | None) -> str:
    return "unlimited" if value is None else str(value)


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
