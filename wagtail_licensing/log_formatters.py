"""Readable audit log messages for the licensing actions."""


from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import operations as ops


def _products_with_counts(mapping: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{code} ({entry.get('count', 0)})" for code, entry in mapping.items())


class UploadFormatter(LogFormatter):
    label = _("Upload license file")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        message = _("Installed license file %(id)s: %(products)s") % {
            "id": data.get("license_id"), "products": ", ".join(data.get("products", [])),
        }
        if data.get("removed"):
            message += "; " + str(_("removed %(codes)s")) % {"codes": ", ".join(data["removed"])}
        return message


class DeleteFormatter(LogFormatter):
    label = _("Delete licenses")

    def format_message(self, log_entry: Any) -> str:
        return _("Deleted the installed licenses (%(id)s): the site runs in demo mode") % {
            "id": log_entry.data.get("license_id")}


class GrantFormatter(LogFormatter):
    label = _("Grant licenses")

    def format_message(self, log_entry: Any) -> str:
        granted = log_entry.data.get("granted", {})
        total = sum(entry.get("count", 0) for entry in granted.values())
        message = ngettext("Granted licenses to %(n)d user: %(products)s",
                           "Granted licenses to %(n)d users: %(products)s", total) % {
            "n": total, "products": _products_with_counts(granted)}
        if log_entry.data.get("refused"):
            message += "; " + str(_("refused %(codes)s")) % {
                "codes": ", ".join(log_entry.data["refused"])}
        return message


class RecallFormatter(LogFormatter):
    label = _("Recall licenses")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        recalled = data.get("recalled", {})
        total = sum(entry.get("count", 0) for entry in recalled.values())
        values = {"n": total, "products": _products_with_counts(recalled),
                  "days": data.get("idle_days") or 0}
        if data.get("automatic"):
            return ngettext("Automatically reclaimed seats idle for %(days)d days from "
                            "%(n)d user: %(products)s",
                            "Automatically reclaimed seats idle for %(days)d days from "
                            "%(n)d users: %(products)s", total) % values
        if data.get("idle_days"):
            return ngettext("Recalled seats idle for %(days)d days from %(n)d user: "
                            "%(products)s",
                            "Recalled seats idle for %(days)d days from %(n)d users: "
                            "%(products)s", total) % values
        return ngettext("Recalled licenses from %(n)d user: %(products)s",
                        "Recalled licenses from %(n)d users: %(products)s", total) % values


class RequestFormatter(LogFormatter):
    label = _("Generate license request")

    def format_message(self, log_entry: Any) -> str:
        return _("Generated license request %(file)s for company %(company)s") % {
            "file": log_entry.data.get("filename"), "company": log_entry.data.get("company_id")}


class UserStatusFormatter(LogFormatter):
    label = _("Licensed user status changed")

    MESSAGES = {
        "deactivated": _("User %(user)s was deactivated: seats of %(products)s freed"),
        "activated": _("User %(user)s was reactivated: seats of %(products)s taken again"),
        "deleted": _("User %(user)s was deleted with their licenses: %(products)s"),
    }

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        template = self.MESSAGES.get(data.get("event"), self.MESSAGES["deactivated"])
        return template % {"user": data.get("user"), "products": ", ".join(data.get("products",
                                                                                      []))}


class PortalUserFormatter(LogFormatter):
    label = _("Portal user")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        if data.get("event") == "converted":
            message = _("Converted %(user)s into a portal user") % {"user": data.get("user")}
            if data.get("recalled"):
                message += "; " + str(_("recalled %(codes)s")) % {
                    "codes": ", ".join(data["recalled"])}
            return message
        message = _("Created portal user %(user)s") % {"user": data.get("user")}
        if data.get("products"):
            message += "; " + str(_("granted %(codes)s")) % {
                "codes": ", ".join(data["products"])}
        return message


class ImportFormatter(LogFormatter):
    label = _("Import license assignments")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        # Sorted: PostgreSQL's jsonb does not keep the keys' order.
        granted = dict(sorted(data.get("granted", {}).items()))
        recalled = dict(sorted(data.get("recalled", {}).items()))
        rows = data.get("rows", 0)
        message = ngettext("Imported %(file)s (%(rows)d row): granted %(granted)d, recalled "
                           "%(recalled)d, %(unchanged)d unchanged",
                           "Imported %(file)s (%(rows)d rows): granted %(granted)d, recalled "
                           "%(recalled)d, %(unchanged)d unchanged", rows) % {
            "file": data.get("filename") or _("license assignments"),
            "rows": rows,
            "granted": sum(entry.get("count", 0) for entry in granted.values()),
            "recalled": sum(entry.get("count", 0) for entry in recalled.values()),
            "unchanged": data.get("unchanged", 0),
        }
        if granted:
            message += "; " + str(_("granted %(products)s")) % {
                "products": _products_with_counts(granted)}
        if recalled:
            message += "; " + str(_("recalled %(products)s")) % {
                "products": _products_with_counts(recalled)}
        return message


class ReleaseFormatter(LogFormatter):
    label = _("Release concurrent slots")

    def format_message(self, log_entry: Any) -> str:
        released = log_entry.data.get("released", [])
        return ngettext("Released %(n)d concurrent license slot: %(slots)s",
                        "Released %(n)d concurrent license slots: %(slots)s", len(released)) % {
            "n": len(released),
            "slots": ", ".join(f"{entry.get('user')} ({entry.get('product')})"
                               for entry in released)}


class RepairCountersFormatter(LogFormatter):
    label = _("Repair seat counters")

    def format_message(self, log_entry: Any) -> str:
        repaired = dict(sorted(log_entry.data.get("repaired", {}).items()))
        parts = []
        if repaired or not ({"group_bindings", "census", "license_holders"}
                            & set(log_entry.data)):
            parts.append(ngettext(
                "Repaired the seat counters of %(n)d product: %(products)s",
                "Repaired the seat counters of %(n)d products: %(products)s",
                len(repaired)) % {
                "n": len(repaired),
                "products": ", ".join(
                    ngettext("%(code)s (%(kept)d seat used counted, %(actual)d held)",
                             "%(code)s (%(kept)d seats used counted, %(actual)d held)",
                             entry.get("kept", {}).get("used", 0)) % {
                        "code": code, "kept": entry.get("kept", {}).get("used", 0),
                        "actual": entry.get("actual", {}).get("used", 0)}
                    for code, entry in repaired.items())})
        bindings = log_entry.data.get("group_bindings")
        if bindings:
            parts.append(_("Repaired the count of group bindings: %(kept)s counted, "
                           "%(actual)s bound") % {"kept": bindings.get("kept"),
                                                  "actual": bindings.get("actual")})
        holders = log_entry.data.get("license_holders")
        if holders:
            parts.append(_("Repaired the count of users who hold a license: %(kept)s counted, "
                           "%(actual)s hold one") % {"kept": holders.get("kept"),
                                                     "actual": holders.get("actual")})
        census = log_entry.data.get("census")
        if census:
            kept, actual = census.get("kept", {}), census.get("actual", {})
            parts.append(_("Repaired the user census: %(kept_users)s users and %(kept)s active "
                           "counted (%(kept_portal)s portal users); %(actual_users)s users, "
                           "%(actual)s active (%(actual_portal)s)") % {
                "kept_users": kept.get("users"), "kept": kept.get("active_users"),
                "kept_portal": kept.get("active_portal_users"),
                "actual_users": actual.get("users"), "actual": actual.get("active_users"),
                "actual_portal": actual.get("active_portal_users")})
        return "; ".join(parts)


class ApiTokenFormatter(LogFormatter):
    label = _("API token")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        values = {"name": data.get("name"), "hint": data.get("hint"),
                  "owner": data.get("owner")}
        if data.get("event") == "revoked":
            return _("Revoked the API token %(name)s (%(hint)s…) of %(owner)s") % values
        if data.get("read_only"):
            return _("Created the read-only API token %(name)s (%(hint)s…) for %(owner)s") % (
                values)
        return _("Created the API token %(name)s (%(hint)s…) for %(owner)s") % values


class GroupLicensesFormatter(LogFormatter):
    label = _("Group licenses")

    def format_message(self, log_entry: Any) -> str:
        data = log_entry.data
        values = {"groups": ", ".join(data.get("groups", [])) or "-",
                  "products": ", ".join(data.get("products", [])) or "-"}
        event = data.get("event")
        if event == "bound":
            message = _("Bound %(products)s to the group %(groups)s") % values
        elif event == "unbound":
            message = _("Unbound %(products)s from the group %(groups)s") % values
        elif event == "membership":
            message = _("Group membership changed (%(groups)s): %(products)s") % values
        else:
            message = _("Reprocessed group licenses (%(groups)s): %(products)s") % values
        details = []
        for key, text in (("granted", _("granted %(counts)s")),
                          ("removed", _("removed %(counts)s")),
                          ("errors", _("licensing errors %(counts)s"))):
            counts = data.get(key) or {}
            if counts:
                details.append(str(text) % {"counts": ", ".join(
                    f"{code} ({n})" for code, n in sorted(counts.items()))})
        return "; ".join([str(message), *details])


FORMATTERS = {
    ops.ACTION_GROUP_LICENSES: GroupLicensesFormatter,
    ops.ACTION_API_TOKEN: ApiTokenFormatter,
    ops.ACTION_UPLOAD: UploadFormatter,
    ops.ACTION_DELETE: DeleteFormatter,
    ops.ACTION_GRANT: GrantFormatter,
    ops.ACTION_RECALL: RecallFormatter,
    ops.ACTION_REQUEST: RequestFormatter,
    ops.ACTION_USER_STATUS: UserStatusFormatter,
    ops.ACTION_IMPORT: ImportFormatter,
    ops.ACTION_PORTAL_USER: PortalUserFormatter,
    ops.ACTION_RELEASE: ReleaseFormatter,
    ops.ACTION_REPAIR_COUNTERS: RepairCountersFormatter,
}
