"""Forms that distribute licenses to users: the Licenses tab, the bulk actions, portal users.

They validate what the manager asked for and hand it to ``operations``: the seat rules live
in the actions, eligibility on ``LicensedProduct``. Product choices carry what the manager
needs to decide ("3 of 5 available", why a box is disabled), computed in a constant number of
queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import group_status, operations, wording
from .dates import site_today
from .exceptions import LicensingError
from .models import (
    AssignmentSource,
    Ineligibility,
    LicenseAssignment,
    LicensedProduct,
    PortalUser,
    ProductType,
)
from .rules.labels import product_label
from .status import installed_products


def availability_label(product: LicensedProduct) -> str | Promise:
    """"3 of 5 available", "Unlimited" or, for concurrent products, the sessions free now."""
    if product.seats is None:
        return _("Unlimited")
    if product.type == ProductType.CONCURRENT:
        return ngettext(
            "%(available)d of %(seats)d session free now (concurrent)",
            "%(available)d of %(seats)d sessions free now (concurrent)", product.seats,
        ) % {"available": product.available, "seats": product.seats}
    return _("%(available)d of %(seats)d available") % {
        "available": product.available, "seats": product.seats}


def validity_problem(product: LicensedProduct, today: date) -> str | None:
    """Why a product cannot be granted today (``LicensedProduct.is_grantable_on``), or None."""
    if product.is_grantable_on(today):
        return None
    if today < product.valid_from:
        return _("Valid from %(date)s.") % {"date": date_format(product.valid_from)}
    return _("Expired on %(date)s.") % {"date": date_format(product.valid_until)}


# What a disabled box says for each reason the eligibility rule gives.
INELIGIBLE_REASONS = {
    Ineligibility.INACTIVE: _("The user is inactive. Activate the account first."),
    Ineligibility.PORTAL_ONLY: _("Only portal users can hold this product."),
    Ineligibility.NOT_FOR_PORTAL: _("Portal users cannot hold this product."),
}


@dataclass
class ProductOption:
    """One product's checkbox: its label, state and why it may not be ticked."""

    code: str
    name: str
    type: str = ""
    availability: str | Promise = ""
    held: bool = False
    has_seat: bool = True
    installed: bool = True
    disabled: bool = False
    reason: str | Promise = ""
    notes: list[str | Promise] = field(default_factory=list)

    @property
    def label(self) -> str:
        return product_label(self.name if self.name != self.code else "", self.code)

    @property
    def type_label(self) -> str | Promise:
        return ProductType(self.type).label if self.type else ""


def user_license_options(user: Any, today: date | None = None) -> list[ProductOption]:
    """The Licenses tab of one user: a ProductOption per installed product, then any product
    the user holds that the installed license lacks. Three queries."""
    today = today or site_today()
    held = dict(LicenseAssignment.objects.filter(user_id=user.pk).values_list(
        "product_code", "has_seat"))
    is_portal = PortalUser.objects.filter(user_id=user.pk).exists()
    active = getattr(user, "is_active", True)
    options: list[ProductOption] = []
    for product in installed_products():
        option = ProductOption(code=product.code, name=product.name, type=product.type,
                               availability=availability_label(product),
                               held=product.code in held,
                               has_seat=held.get(product.code, True))
        if option.held:
            # Held boxes always stay enabled: recalling is never refused.
            if not active:
                option.notes.append(_("Inactive users use no seat."))
            elif not option.has_seat and product.counts_seats:
                option.notes.append(_("No seat: the product is over-allocated. The user has "
                                      "no access until a seat is freed."))
        else:
            if ineligible := product.ineligibility(is_active=active, is_portal=is_portal):
                option.reason = INELIGIBLE_REASONS[ineligible]
            elif problem := validity_problem(product, today):
                option.reason = problem
            elif product.counts_seats and (product.available or 0) < 1:
                option.reason = _("No seat left: recall it from another user or ask your "
                                  "vendor for more seats.")
            option.disabled = bool(option.reason)
        options.append(option)
    installed_codes = {option.code for option in options}
    for code in sorted(set(held) - installed_codes):
        options.append(ProductOption(
            code=code, name=code, held=True, has_seat=False, installed=False,
            notes=[_("Not in the installed license: it grants nothing until a license file "
                     "includes it again.")]))
    _add_sources(options, user)
    return options


def _add_sources(options: list[ProductOption], user: Any) -> None:
    """Where each held license comes from (directly, through which groups), and the group
    licensing errors of the user: never silent. Three queries."""
    sources = group_status.user_sources(user)
    if not sources.groups and not sources.errors:
        return  # held directly only, like every license before group licensing
    by_code = {option.code: option for option in options}
    for option in options:
        if not option.held:
            continue
        direct, groups = sources.label_parts(option.code)
        if groups:
            names = ", ".join(groups)
            option.notes.append(
                _("Granted directly and through the groups %(groups)s.") % {"groups": names}
                if direct else _("Through the groups %(groups)s: unticking it keeps it while "
                                 "the user is a member.") % {"groups": names})
    for error in sources.errors:
        erred = by_code.get(error.product_code)
        if erred is not None:
            erred.notes.append(_(
                "Licensing error: %(reason)s for %(product)s from the group %(group)s.") % {
                "reason": error.get_reason_display().lower(), "product": erred.label,
                "group": error.group.name})


class ProductCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes whose options know their ProductOption (label, availability, reason)."""

    template_name = "wagtail_licensing/forms/widgets/product_checkboxes.html"
    option_template_name = "wagtail_licensing/forms/widgets/product_checkbox_option.html"

    def __init__(self, attrs: dict[str, Any] | None = None,
                 options: Iterable[ProductOption] = ()) -> None:
        super().__init__(attrs)
        self.product_options = {option.code: option for option in options}

    def create_option(self, name: str, value: Any, label: Any, selected: Any, index: int,
                      subindex: int | None = None,
                      attrs: dict[str, Any] | None = None) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        product = self.product_options.get(str(value))
        option["product"] = product
        if product is not None and product.disabled:
            option["attrs"]["disabled"] = True
        option["attrs"]["data-w-bulk-target"] = "item"
        option["attrs"]["data-action"] = "w-bulk#toggle"
        return option


def _choices(options: Iterable[ProductOption]) -> list[tuple[str, str]]:
    return [(option.code, option.label) for option in options]


def _product_boxes(field: forms.Field, options: Sequence[ProductOption]) -> None:
    """Offer ``options`` in the multiple-choice ``field`` as product checkboxes."""
    choice_field = cast(forms.MultipleChoiceField, field)
    choice_field.choices = _choices(options)
    widget = ProductCheckboxes(options=options)
    choice_field.widget = widget
    widget.choices = choice_field.choices


class UserLicensesForm(forms.Form):
    """The Licenses tab: tick to grant, untick to recall.

    ``held`` carries the codes held when the form was shown, so that saving applies only what
    the manager changed: a license granted meanwhile by someone else is not recalled.
    """

    prefix = "wagtail_licensing"

    present = forms.CharField(widget=forms.HiddenInput, initial="1")
    held = forms.CharField(widget=forms.HiddenInput, required=False)
    products = forms.MultipleChoiceField(label=_("Licenses"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        self.user = user
        self.options = user_license_options(user)
        held = [option.code for option in self.options if option.held]
        kwargs["initial"] = {"held": ",".join(held), "products": held,
                             **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        _product_boxes(self.fields["products"], self.options)

    def changes(self) -> tuple[list[str], list[str]]:
        """(codes to grant, codes to recall) from the cleaned data."""
        before = {code for code in self.cleaned_data["held"].split(",") if code}
        after = set(self.cleaned_data["products"])
        offered = {option.code for option in self.options}
        # Boxes disabled when the form was shown are not posted; if one is posted anyway (the
        # seat was freed meanwhile, or a crafted request), the operation applies the seat rules
        # and says why it refuses.
        to_grant = sorted((after - before) & offered)
        to_recall = sorted((before - after) & offered)
        return to_grant, to_recall

    def save(self, *, user: Any) -> list[wording.Message]:
        """Apply the changes in one transaction; returns ``(level, text)`` messages. A refusal
        of the whole change (the license was deleted meanwhile...) is an error message, and
        nothing changes."""
        to_grant, to_recall = self.changes()
        users = get_user_model()._default_manager.filter(pk=self.user.pk)
        messages: list[wording.Message] = []
        try:
            with transaction.atomic():
                if to_recall:
                    messages += wording.recall_messages(operations.recall(
                        users, to_recall, user=user, source=AssignmentSource.MANUAL))
                if to_grant:
                    messages += wording.grant_messages(operations.grant(
                        users, to_grant, user=user, source=AssignmentSource.MANUAL))
        except LicensingError as error:
            return [("error", _("The licenses were not changed: %(reason)s")
                     % {"reason": error.message})]
        return messages


def grant_options(today: date | None = None) -> list[ProductOption]:
    """Products of the installed license valid today, with their availability. One query."""
    today = today or site_today()
    options: list[ProductOption] = []
    for product in installed_products():
        if not product.is_grantable_on(today):
            continue
        option = ProductOption(code=product.code, name=product.name, type=product.type,
                               availability=availability_label(product))
        if product.counts_seats and (product.available or 0) < 1:
            option.notes.append(_("No seat left."))
        options.append(option)
    return options


def recall_options(users: QuerySet[Any]) -> list[ProductOption]:
    """Products any of ``users`` (a queryset) holds, with how many of them hold each.
    Two queries, however many users are selected."""
    counts = dict(
        LicenseAssignment.objects.filter(user_id__in=users.order_by().values("pk"))
        .order_by().values_list("product_code").annotate(n=Count("pk"))
    )
    names = {product.code: product for product in installed_products()}
    options: list[ProductOption] = []
    for code in sorted(counts, key=lambda c: (names[c].name if c in names else c, c)):
        product = names.get(code)
        option = ProductOption(code=code, name=product.name if product else code,
                               type=product.type if product else "", installed=bool(product))
        option.availability = ngettext("Held by %(count)d selected user",
                                       "Held by %(count)d selected users",
                                       counts[code]) % {"count": counts[code]}
        options.append(option)
    return options


class ProductsForm(forms.Form):
    """Pick products for a bulk grant or recall."""

    products = forms.MultipleChoiceField(
        label=_("Products"), required=True,
        error_messages={"required": _("Tick at least one product.")})

    def __init__(self, *args: Any, options: Sequence[ProductOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        _product_boxes(self.fields["products"], options)


class PortalUserForm(forms.Form):
    """Add a portal user: the account and the portal products it gets, in one step."""

    email = forms.EmailField(label=_("E-mail"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    username = forms.CharField(
        label=_("Username"), max_length=150, required=False,
        help_text=_("Leave empty to use the e-mail address."))
    products = forms.MultipleChoiceField(label=_("Portal products"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        User = get_user_model()
        if User.USERNAME_FIELD == User.get_email_field_name():
            del self.fields["username"]
        self.options = [option for option in grant_options()
                        if option.type == ProductType.PORTAL]
        for option in self.options:
            if option.notes:
                option.disabled = True
                option.reason = _("No seat left: recall it from another portal user or ask "
                                  "your vendor for more seats.")
        _product_boxes(self.fields["products"], self.options)

    def save(self, *, user: Any) -> operations.PortalUserResult:
        data = self.cleaned_data
        return operations.create_portal_user(
            email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
            username=data.get("username") or None, product_codes=data["products"], user=user)
