"""What the System users screens and the licensing bulk actions share: how a user's licensing
is loaded, and which users a listing's query string selects.

A module of its own so that ``system_users`` and ``bulk_actions`` both import it and neither
imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Page
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.http import RFC3986_SUBDELIMS
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.views.generic.base import BaseListingView

from ..filters import filter_users, groups_relation
from ..models import GroupLicenseError, LicenseAssignment, has_field, is_portal_user_expression
from .names import SYSTEM_USERS_NAMESPACE

#: The annotation ``with_licensing`` puts on each user: is it a portal user?
PORTAL_ANNOTATION = "_licensing_is_portal"
#: ... and has a group licensing error (a bound group could not seat them)?
PROBLEM_ANNOTATION = "_licensing_has_problem"
#: The user's groups, as a list (a prefetch ``to_attr``: no related manager built per row).
GROUPS_ATTRIBUTE = "_licensing_groups"
#: What ``row_url`` reverses in place of a key, for a ``str`` then an ``int`` converter: letters
#: and digits, which neither admin ``quote`` nor ``reverse`` changes, and which no key quotes
#: to (``quote`` escapes ``_``) or, for the digits, is unlikely to be elsewhere in the URL.
_KEY_PLACEHOLDERS = ("0wlkey0", "9731059731")


def url_name(name: str) -> str:
    """A URL name of the System users viewset."""
    return f"{SYSTEM_USERS_NAMESPACE}:{name}"


def user_url(user: object) -> str:
    """The page of one user's licenses in System users."""
    return reverse(url_name("user"), args=[quote(user.pk)])  # type: ignore[attr-defined]


def row_url(name: str) -> Callable[[Any], str]:
    """``lambda obj: reverse(name, args=[quote(obj.pk)])``, reversed once for every row.

    A listing of 50 users reverses three or four URLs a row; ``reverse`` matches the URL
    pattern each time. The pattern is reversed once with a placeholder key, and each row's key
    (admin-quoted, then URL-quoted as ``reverse`` quotes it) put in its place; where the
    placeholder does not come out exactly once, every row is reversed.
    """
    def each_row(obj: Any) -> str:
        return reverse(name, args=[quote(obj.pk)])

    for placeholder in _KEY_PLACEHOLDERS:
        try:
            template = reverse(name, args=[placeholder])
        except NoReverseMatch:
            continue
        if template.count(placeholder) != 1:
            return each_row
        head, tail = template.split(placeholder)
        safe = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted
        return lambda obj: f"{head}{url_quote(str(quote(obj.pk)), safe=safe)}{tail}"
    return each_row


class KeysFirstPaginator(WagtailPaginator):
    """Wagtail's paginator, reading a page of users in two steps: the page's keys in the
    listing's order, then those users with everything the listing loads with them.

    A sort by a column without an index (name, type, status, last login) reads every user and
    keeps the first of them; on PostgreSQL it copies each row it reads into the sort, so
    sorting whole user rows costs several times sorting their keys (at 689,655 users, 185
    against 52 ms for the sort by type). One query more per page, at any size; a listing in
    the order of an index (the username: the first page) is read in one query, as before.
    """

    def page(self, number: Any) -> Page:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or _sorted_by_an_index(queryset):
            return super().page(number)
        page = super().page(number)  # its object_list: the page's slice, not read yet
        keys = list(page.object_list.values_list("pk", flat=True))
        rows = {row.pk: row for row in queryset.order_by().filter(pk__in=keys)} if keys else {}
        # A user deleted between the two queries is left out, not an error.
        page.object_list = [rows[key] for key in keys if key in rows]
        return page


def _sorted_by_an_index(queryset: QuerySet) -> bool:
    """Does an index give ``queryset`` in order (its first sort key a unique or indexed
    column, as the username)? Then the database reads the rows in that order and stops after
    the page, sorting nothing: reading the keys first would only add a query, and on
    PostgreSQL a narrow searched query may be planned as a scan and sort of every user."""
    order = queryset.query.order_by
    if not order or not isinstance(order[0], str):
        return False
    name = order[0].lstrip("-")
    meta = queryset.model._meta
    if name == "pk":
        return True
    try:
        field = meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return bool(getattr(field, "primary_key", False) or getattr(field, "unique", False)
                or getattr(field, "db_index", False))


def with_licensing(queryset: QuerySet) -> QuerySet:
    """Prefetch what the listing shows of each user: assignments, groups, profile (the
    avatar), portal flag.

    A constant number of queries for a page of users, however many they hold.
    """
    prefetches: list[Prefetch | str] = [
        Prefetch("license_assignments",
                 queryset=LicenseAssignment.objects.order_by("product_code"),
                 to_attr="_licensing_assignments")]
    if groups_relation(queryset.model) is not None:
        prefetches.append(Prefetch("groups", to_attr=GROUPS_ATTRIBUTE))
    queryset = queryset.annotate(**{
        PORTAL_ANNOTATION: is_portal_user_expression(),
        PROBLEM_ANNOTATION: Exists(GroupLicenseError.objects.filter(user_id=OuterRef("pk"))),
    })
    if has_field(queryset.model, "wagtail_userprofile"):
        # The avatars' profiles: a prefetch (one query for the page), not a join, which a
        # page the database sorts (by a column without an index, or filtered before sorting)
        # would make for every user it reads: sorted by name at 100,000 users on PostgreSQL,
        # 33 -> 11 ms before ``KeysFirstPaginator`` (whose keys query joins nothing).
        prefetches.append("wagtail_userprofile")
    return queryset.prefetch_related(*prefetches)


def listing_user_keys(request: HttpRequest) -> QuerySet | list[Any]:
    """The keys of the users of the listing a "select all in listing" came from.

    Wagtail's bulk-action script sends the listing's query string along with ``id=all`` and
    ``next`` (the listing's URL). When ``next`` is a user listing (System users, Settings >
    Users or a project's own user viewset), its view builds the queryset, so the selection is
    exactly what the manager saw, whatever filters that listing has (System users' own view
    calls ``filter_users``). Otherwise ``filter_users`` reads the query string.
    """
    User = get_user_model()
    next_url = request.GET.get("next") or ""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "view_class", None) if match else None
    if match is not None and view_class is not None and issubclass(view_class, BaseListingView):
        view = view_class(**getattr(match.func, "view_initkwargs", {}))
        if getattr(view, "model", None) is User:
            view.setup(request, *match.args, **match.kwargs)
            queryset = view.get_queryset()
            if isinstance(queryset, QuerySet):
                return queryset.order_by().values("pk")
            # A search backend's results: only their keys are needed.
            return [user.pk for user in queryset]
    return filter_users(request.GET).order_by().values("pk")


def selected_users(request: HttpRequest) -> QuerySet:
    """The users a bulk action's query string selects (``id=<pk>`` repeated, or ``id=all``
    with the listing's query string), as one queryset: never loaded one by one."""
    User = get_user_model()
    ids = request.GET.getlist("id")
    if "all" in ids:
        return User._default_manager.filter(pk__in=listing_user_keys(request))
    pks: list[Any] = []
    for raw in ids:
        try:
            pks.append(User._meta.pk.to_python(raw))
        except ValidationError:
            continue
    return User._default_manager.filter(pk__in=pks)
