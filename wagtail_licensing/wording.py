"""Results of actions in words: ``(level, text)`` messages for the admin, the command and the API.

Levels are "success", "info", "warning" or "error" (``views.feedback.report`` shows them as one
Wagtail message). The actions layer returns data only; this module is where it is worded, and
the one home of names lists ("a, b and 3 more").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .actions.group_results import GroupEvent, GroupLicensesResult
from .actions.results import (
    GrantRefusal,
    GrantRefusalReason,
    GrantResult,
    ImportResult,
    PortalUserResult,
    RecallResult,
)
from .dates import format_day
from .models import ProductType

Message = tuple[str, str]

# How many names a message lists before it says "and N more".
NAMES_SHOWN = 50


def names_list(names: Iterable[Any], limit: int = NAMES_SHOWN) -> str:
    """"a, b and c", or "a, b, … and 3 more" past ``limit`` names."""
    names = list(names)
    if len(names) <= limit:
        return get_text_list([str(n) for n in names], _("and"))
    return _("%(names)s and %(count)d more") % {
        "names": ", ".join(str(n) for n in names[:limit]),
        "count": len(names) - limit,
    }


def refusal_text(refusal: GrantRefusal) -> str:
    """Why a product was not granted, for the manager."""
    if refusal.reason == GrantRefusalReason.NOT_INSTALLED:
        return _(
            "%(code)s is not a product of the installed license, so it cannot be "
            "granted. Check the code on the License manager page."
        ) % {"code": refusal.code}
    if refusal.reason == GrantRefusalReason.NOT_GRANTABLE:
        return _(
            "%(product)s is valid from %(from)s until %(until)s, so it cannot be "
            "granted today. Ask your vendor for a renewed license file."
        ) % {"product": refusal.label, "from": format_day(refusal.valid_from),
             "until": format_day(refusal.valid_until)}
    # Each count agrees with its own words: "1 seat is needed", "only 0 of 3 are available".
    needed = ngettext("%(needed)d seat is needed", "%(needed)d seats are needed",
                      refusal.needed) % {"needed": refusal.needed}
    available = ngettext("only %(available)d of %(seats)d is available",
                         "only %(available)d of %(seats)d are available",
                         refusal.available or 0) % {"available": refusal.available or 0,
                                               "seats": refusal.seats}
    return _(
        "%(product)s was not granted: %(needed)s but %(available)s. Recall it from other "
        "users or ask your vendor for more seats."
    ) % {"product": refusal.label, "needed": needed, "available": available}


def grant_messages(result: GrantResult) -> list[Message]:
    out: list[Message] = []
    for code, users in result.granted.items():
        if users:
            out.append(("success", ngettext(
                "Granted %(product)s to %(count)d user: %(names)s.",
                "Granted %(product)s to %(count)d users: %(names)s.", len(users),
            ) % {"product": result.label(code), "count": len(users),
                 "names": names_list(users)}))
    for refusal in result.refused.values():
        out.append(("error", refusal_text(refusal)))
    for code, users in result.already.items():
        if users:
            out.append(("warning", ngettext(
                "Skipped %(count)d user who already holds %(product)s: %(names)s.",
                "Skipped %(count)d users who already hold %(product)s: %(names)s.",
                len(users),
            ) % {"product": result.label(code), "count": len(users),
                 "names": names_list(users)}))
    for code, users in result.wrong_type.items():
        if users:
            portal = result.types.get(code) == ProductType.PORTAL
            text = (ngettext(
                "Skipped %(count)d user for %(product)s, which only portal users can hold: "
                "%(names)s.",
                "Skipped %(count)d users for %(product)s, which only portal users can hold: "
                "%(names)s.", len(users))
                if portal else ngettext(
                "Skipped %(count)d portal user for %(product)s, which portal users cannot "
                "hold: %(names)s.",
                "Skipped %(count)d portal users for %(product)s, which portal users cannot "
                "hold: %(names)s.", len(users)))
            out.append(("warning", text % {"product": result.label(code), "count": len(users),
                                           "names": names_list(users)}))
    for code, users in result.via_group.items():
        if users:
            out.append(("info", ngettext(
                "%(count)d user already held %(product)s through a group and now holds it "
                "directly too, on the same seat: %(names)s.",
                "%(count)d users already held %(product)s through a group and now hold it "
                "directly too, on the same seat: %(names)s.", len(users),
            ) % {"product": result.label(code), "count": len(users),
                 "names": names_list(users)}))
    if result.inactive:
        out.append(("warning", ngettext(
            "Skipped %(count)d inactive user: %(names)s. Activate the account first.",
            "Skipped %(count)d inactive users: %(names)s. Activate the accounts first.",
            len(result.inactive),
        ) % {"count": len(result.inactive), "names": names_list(result.inactive)}))
    return out


def recall_messages(result: RecallResult) -> list[Message]:
    out: list[Message] = []
    for code, users in result.recalled.items():
        out.append(("success", ngettext(
            "Recalled %(product)s from %(count)d user: %(names)s.",
            "Recalled %(product)s from %(count)d users: %(names)s.", len(users),
        ) % {"product": result.label(code), "count": len(users), "names": names_list(users)}))
    for code, users in result.kept_via_group.items():
        out.append(("info", ngettext(
            "%(count)d user keeps %(product)s through a group (only the direct grant was "
            "recalled): %(names)s.",
            "%(count)d users keep %(product)s through a group (only the direct grant was "
            "recalled): %(names)s.", len(users),
        ) % {"product": result.label(code), "count": len(users), "names": names_list(users)}))
    if result.group_changes is not None:
        out += group_changes_messages(result.group_changes)
    if not result.recalled and not result.kept_via_group:
        out.append(("warning", _("None of the selected users held those licenses: "
                                 "nothing was recalled.")))
    return out


def group_changes_messages(changes: Any) -> list[Message]:
    """What a reconciliation did to group members' seats (``group_seats.GroupChanges``)."""
    out: list[Message] = []
    for code, n in changes.granted.items():
        out.append(("success", ngettext(
            "%(product)s: %(count)d member of bound groups was given a seat.",
            "%(product)s: %(count)d members of bound groups were given a seat.", n,
        ) % {"product": code, "count": n}))
    for code, n in changes.removed.items():
        out.append(("success", ngettext(
            "%(product)s: removed from %(count)d user who no longer holds it through a group.",
            "%(product)s: removed from %(count)d users who no longer hold it through a group.",
            n) % {"product": code, "count": n}))
    for code, n in changes.made_inherited.items():
        out.append(("info", ngettext(
            "%(product)s: %(count)d direct grant now comes from the group only.",
            "%(product)s: %(count)d direct grants now come from the group only.", n,
        ) % {"product": code, "count": n}))
    for code, n in changes.resolved.items():
        out.append(("success", ngettext(
            "%(product)s: %(count)d licensing error resolved.",
            "%(product)s: %(count)d licensing errors resolved.", n,
        ) % {"product": code, "count": n}))
    for code, n in changes.errors.items():
        out.append(("warning", ngettext(
            "%(product)s: %(count)d member is left without a seat (licensing error). Recall "
            "seats, raise the group's priority or ask your vendor for more seats.",
            "%(product)s: %(count)d members are left without a seat (licensing errors). Recall "
            "seats, raise the group's priority or ask your vendor for more seats.", n,
        ) % {"product": code, "count": n}))
    return out


def group_messages(result: GroupLicensesResult) -> list[Message]:
    """A binding, unbinding or reprocess in words."""
    out: list[Message] = []
    groups = get_text_list(result.groups, _("and"))
    if result.event == GroupEvent.BOUND and result.bound:
        out.append(("success", _("Bound %(products)s to %(group)s.") % {
            "products": ", ".join(result.bound), "group": groups}))
    if result.event == GroupEvent.UNBOUND and result.unbound:
        out.append(("success", _("Unbound %(products)s from %(group)s.") % {
            "products": ", ".join(result.unbound), "group": groups}))
    for code in result.refused:
        out.append(("error", _("%(product)s is not in the installed license: not bound.") % {
            "product": code}))
    out += group_changes_messages(result.changes)
    if not out:
        out.append(("info", _("Nothing needed to change.")))
    return out


def import_messages(result: ImportResult) -> list[Message]:
    out: list[Message] = []
    for code, count in result.granted.items():
        out.append(("success", ngettext(
            "Granted %(product)s to %(count)d user.",
            "Granted %(product)s to %(count)d users.", count,
        ) % {"product": result.plan.products[code].label, "count": count}))
    for code, count in result.recalled.items():
        out.append(("success", ngettext(
            "Recalled %(product)s from %(count)d user.",
            "Recalled %(product)s from %(count)d users.", count,
        ) % {"product": result.plan.products[code].label, "count": count}))
    unchanged = result.unchanged_count
    if unchanged or not out:
        out.append(("success" if out else "info", ngettext(
            "%(count)d row unchanged: the assignment was already as the file says.",
            "%(count)d rows unchanged: the assignments were already as the file says.",
            unchanged,
        ) % {"count": unchanged}))
    return out


def portal_user_messages(result: PortalUserResult) -> list[Message]:
    out: list[Message] = []
    if result.recalled is not None and result.recalled.recalled:
        out.extend(recall_messages(result.recalled))
    if result.granted is not None:
        out.extend(grant_messages(result.granted))
    return out


def portal_grant_problems(result: GrantResult) -> list[str]:
    """Why the products asked for a new portal user cannot all be granted (then the account
    is not created): refusals, and products that are not portal products."""
    problems = [refusal_text(refusal) for refusal in result.refused.values()]
    problems += [
        _("%(product)s is not a portal product, so portal users cannot hold it.")
        % {"product": result.label(code)}
        for code, users in result.wrong_type.items() if users
    ]
    return problems


def messages(result: GrantResult | RecallResult | ImportResult | PortalUserResult
             ) -> list[Message]:
    """The messages of any result this module words, for callers that handle several."""
    if isinstance(result, GrantResult):
        return grant_messages(result)
    if isinstance(result, RecallResult):
        return recall_messages(result)
    if isinstance(result, ImportResult):
        return import_messages(result)
    if isinstance(result, PortalUserResult):
        return portal_user_messages(result)
    raise TypeError(f"No wording for {type(result).__name__}")
