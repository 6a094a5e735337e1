"""Filters of the System users listing, reusable wherever users are filtered the same way.

``filter_users(query_string)`` is the one definition of "the listing's users from a query
string" (its filters and its search): the listing itself, the assignment export and the bulk
actions' "select all" call it, so that they act on exactly the users the manager sees.

Every filter is an ``EXISTS`` subquery or a plain column test, never a join: filtering never
duplicates users, never needs ``DISTINCT`` and keeps the page's query count constant.
"""


from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Exists, OuterRef, Q, QuerySet, TextChoices
from django.db.models.query import EmptyQuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.widgets.boolean_radio_select import BooleanRadioSelect

from . import group_status
from .actions.idle import idle_days
from .census import census
from .models import (
    HELD_BOTH,
    HELD_DIRECT,
    HELD_INHERITED,
    LicenseAssignment,
    LicensedProduct,
    LicensingState,
    PortalUser,
    ProductUsage,
    has_field,
    is_portal_user_expression,
)
from .rules.labels import product_label


class LicensedFilter(TextChoices):
    """The values of the listing's "Licenses" filter (kept in query strings)."""

    LICENSED = "licensed", _("Holds a license")
    UNLICENSED = "unlicensed", _("Holds no license")
    WITHOUT_SEAT = "without_seat", _("Holds a license without a seat")


class SourceFilter(TextChoices):
    """The values of the listing's "Source" filter: where licenses come from."""

    DIRECT = HELD_DIRECT, _("Granted directly")
    INHERITED = HELD_INHERITED, _("Through a group")
    BOTH = HELD_BOTH, _("Both (one product directly and through a group)")
    PROBLEMS = "problems", _("Licensing problems (a group could not seat the user)")


class UserType(TextChoices):
    """The values of the listing's "Type" filter (kept in query strings)."""

    EMPLOYEE = "employee", _("Employee")
    PORTAL = "portal", _("Portal user")


LICENSED = LicensedFilter.LICENSED
UNLICENSED = LicensedFilter.UNLICENSED
WITHOUT_SEAT = LicensedFilter.WITHOUT_SEAT
EMPLOYEE = UserType.EMPLOYEE
PORTAL = UserType.PORTAL


def user_type_choices() -> list[tuple[str, str | Promise]]:
    return list(UserType.choices)


def product_choices() -> list[tuple[str, str]]:
    """Products of the installed license, then codes users still hold that it lacks.

    Two queries, whose cost does not grow with users or assignments: the codes held are read
    from the seat counters (``ProductUsage``), as the License manager's orphaned products are.
    """
    products = list(
        LicensedProduct.objects.installed().order_by("name", "code").values_list("code", "name")
    )
    known = {code for code, _name in products}
    held = (
        ProductUsage.objects.filter(holders__gt=0).order_by("product_code")
        .values_list("product_code", flat=True)
    )
    others = [code for code in held if code not in known]
    return [(code, product_label(name, code)) for code, name in products] + [
        (code, _("%(code)s (not in the installed license)") % {"code": code}) for code in others
    ]


IDLE_CHOICES_DAYS = (30, 90, 180, 365)


def idle_choices() -> list[tuple[str, str]]:
    """"Idle for N days": IDLE_DAYS first, then a few usual windows."""
    days = sorted({idle_days(), *IDLE_CHOICES_DAYS})
    return [(str(n), ngettext("Idle for %(days)d day", "Idle for %(days)d days", n)
             % {"days": n}) for n in days]


def groups_relation(user_model: Any) -> tuple[Any, str] | None:
    """(through model, name of its foreign key to the user) of ``user.groups``, or None."""
    try:
        field = user_model._meta.get_field("groups")
    except FieldDoesNotExist:
        return None
    if not field.many_to_many:
        return None
    return field.remote_field.through, field.m2m_field_name()


class SystemUserFilterSet(WagtailFilterSet):
    is_active = django_filters.BooleanFilter(
        label=_("Active"), widget=BooleanRadioSelect, method="filter_is_active")
    licensed = django_filters.ChoiceFilter(
        label=_("Licenses"),
        choices=LicensedFilter.choices,
        empty_label=_("All"), widget=forms.RadioSelect, method="filter_licensed")
    product = django_filters.MultipleChoiceFilter(
        label=_("Product"), widget=forms.CheckboxSelectMultiple, method="filter_product")
    group = django_filters.ModelMultipleChoiceFilter(
        label=_("Group"), queryset=Group.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple, method="filter_group")
    type = django_filters.ChoiceFilter(
        label=_("Type"), choices=user_type_choices, empty_label=_("All"),
        widget=forms.RadioSelect, method="filter_type")
    idle = django_filters.ChoiceFilter(
        label=_("Usage"), choices=idle_choices, empty_label=_("All"),
        widget=forms.RadioSelect, method="filter_idle")
    source = django_filters.ChoiceFilter(
        label=_("Source"), choices=SourceFilter.choices, empty_label=_("All"),
        widget=forms.RadioSelect, method="filter_source")

    class Meta:
        model = get_user_model()
        fields: list[str] = []

    def __init__(self, data: Any = None, queryset: QuerySet | None = None, *,
                 request: HttpRequest | None = None, prefix: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(data, queryset, request=request, prefix=prefix)
        model = self._meta.model
        # Custom user models may lack is_active or groups: drop the filters they cannot use.
        if not has_field(model, "is_active"):
            del self.filters["is_active"]
        if groups_relation(model) is None:
            del self.filters["group"]
        # Choices are read when the form is built, not at import time.
        self.filters["product"].extra["choices"] = product_choices

    def filter_is_active(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(is_active=value)

    def filter_licensed(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        assignments = LicenseAssignment.objects.filter(user_id=OuterRef("pk"))
        if value == LICENSED:
            return queryset.filter(Exists(assignments))
        if value == UNLICENSED:
            return queryset.exclude(Exists(assignments))
        if value == WITHOUT_SEAT:
            return queryset.filter(Exists(assignments.filter(has_seat=False)))
        return queryset

    def filter_product(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(Exists(LicenseAssignment.objects.filter(
            user_id=OuterRef("pk"), product_code__in=value)))

    def filter_group(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        relation = groups_relation(queryset.model)
        if not value or relation is None:
            return queryset
        through, user_fk = relation
        return queryset.filter(Exists(through.objects.filter(
            **{f"{user_fk}_id": OuterRef("pk"), "group__in": value})))

    def filter_idle(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Users holding a license they have not used for ``value`` days (of the ticked
        products, if any)."""
        if not value:
            return queryset
        idle = LicenseAssignment.objects.idle(int(value)).filter(user_id=OuterRef("pk"))
        codes = self.form.cleaned_data.get("product")
        if codes:
            idle = idle.filter(product_code__in=codes)
        return queryset.filter(Exists(idle))

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value not in SourceFilter.values:
            return queryset
        return queryset.filter(group_status.source_filter(value))

    def filter_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        portal = is_portal_user_expression()
        if value == PORTAL:
            return queryset.filter(portal)
        if value == EMPLOYEE:
            return queryset.exclude(portal)
        return queryset


def search_fields(user_model: Any) -> list[str]:
    """The user fields the listing searches: username, e-mail, first and last name."""
    names = [user_model.USERNAME_FIELD, user_model.get_email_field_name(), "first_name",
             "last_name"]
    return [name for name in dict.fromkeys(names) if has_field(user_model, name)]


def search_users(queryset: QuerySet, query: str | None) -> QuerySet:
    """Users whose username, e-mail or name contains every word of ``query``.

    Word by word, so that "ada lovelace" finds Ada Lovelace although first and last names are
    separate fields. Always the database, never a search index: the listing, the bulk actions'
    "select all" and the assignment export must find the same users.
    """
    fields = search_fields(queryset.model)
    for word in (query or "").split():
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


def kept_user_count(filterset: SystemUserFilterSet, query: str | None = None) -> int | None:
    """How many users ``filter_users`` selects with this filterset and search, read from what
    is kept instead of counted over every user, where that is exact: one product ticked and
    nothing else (its holders: the seat counters count assignments, one per user and
    product), only "Holds a license" or "Holds no license" (the license holders the actions
    keep, and the user census's users less them), only "Without a seat" (the users of the
    assignments without one), only a status (the census's active users,
    or its users less them), one group (its memberships) or only a type (the portal users, or
    all users but them). None
    otherwise, for the paginator to count. The counts are those ``manage.py licensing
    verify`` checks."""
    if (query or "").split() or not filterset.is_valid():
        return None
    chosen = {name: value for name, value in filterset.form.cleaned_data.items()
              if value not in (None, "", [], ()) and not isinstance(value, EmptyQuerySet)}
    if list(chosen) == ["product"] and len(chosen["product"]) == 1:
        kept = ProductUsage.objects.filter(product_code=chosen["product"][0]).values_list(
            "holders", flat=True).first()
        return kept or 0
    if list(chosen) == ["licensed"] and chosen["licensed"] == WITHOUT_SEAT:
        # The users of the assignments without a seat: read from the partial index on them,
        # which holds those assignments only.
        return (LicenseAssignment.objects.filter(has_seat=False).order_by()
                .values("user_id").distinct().count())
    if list(chosen) == ["licensed"] and chosen["licensed"] in (LICENSED, UNLICENSED):
        holders = LicensingState.get().license_holders
        if chosen["licensed"] == LICENSED:
            return holders
        return max(census().users - holders, 0)
    if list(chosen) == ["is_active"]:
        kept_census = census()
        if chosen["is_active"]:
            return kept_census.active_users
        return max(kept_census.users - kept_census.active_users, 0)
    relation = groups_relation(filterset.queryset.model)
    if (list(chosen) == ["group"] and len(chosen["group"]) == 1 and relation is not None
            and relation[0]._meta.auto_created):
        # Its members: Django's membership table holds one row per user and group, counted
        # from its index on the group, without reaching the users.
        return relation[0].objects.filter(group=chosen["group"][0]).count()
    if list(chosen) == ["type"] and chosen["type"] in (PORTAL, EMPLOYEE):
        portal = PortalUser.objects.count()
        if chosen["type"] == PORTAL:
            return portal
        return filterset.queryset.count() - portal
    return None


def filter_users(
    data: Mapping[str, Any],
    queryset: QuerySet | None = None,
    *,
    filterset: SystemUserFilterSet | None = None,
) -> QuerySet:
    """The users of ``queryset`` (default: all) that a System users query string ``data``
    selects: its filters and its search (``q``). Invalid filter values are ignored, as the
    listing does. ``filterset`` is the caller's own ``SystemUserFilterSet`` over ``data`` (the
    listing's, whose form it renders), built here when not given."""
    if queryset is None:
        queryset = get_user_model()._default_manager.all()
    if filterset is None:
        filterset = SystemUserFilterSet(data, queryset=queryset)
    if filterset.is_valid():
        queryset = filterset.filter_queryset(queryset)
    return search_users(queryset, data.get("q", ""))
