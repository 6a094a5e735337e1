"""The Recall idle seats bulk action on users: recall only what the selected users do not use."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ... import operations
from ...actions.idle import SAMPLE_SIZE, idle_days
from ...filters import idle_choices
from ...models import AssignmentSource
from ...user_forms import ProductOption, ProductsForm
from .base import LicensingUserBulkAction


class RecallIdleSeatsBulkAction(LicensingUserBulkAction):
    """Offers the products some selected users have not used for ``IDLE_DAYS``, previews who
    loses what, and calls the Recall action restricted to idle assignments (the others keep
    their licenses)."""

    display_name = _("Recall idle seats")
    action_type = "recall_idle_seats"
    aria_label = _("Recall the seats the selected users have not used")
    template_name = "wagtail_licensing/bulk_actions/recall_idle_seats.html"
    action_priority = 55
    form_class = ProductsForm

    @property
    def days(self) -> int:
        """The "idle" window of the listing the selection came from, else ``IDLE_DAYS``."""
        value = self.request.GET.get("idle", "")
        return int(value) if value in {code for code, _label in idle_choices()} \
            else idle_days()

    @property
    def preview(self) -> list[operations.IdleProduct]:
        if not hasattr(self, "_preview"):
            self._preview = operations.idle_seats(self.days, users=self.selected_users,
                                                  sample=SAMPLE_SIZE)
        return self._preview

    def get_options(self) -> list[Any]:
        options = []
        for product in self.preview:
            option = ProductOption(code=product.code, name=product.name or product.code,
                                   type="", installed=product.name is not None)
            option.availability = ngettext(
                "%(count)d idle holder, %(seats)d seat freed",
                "%(count)d idle holders, %(seats)d seats freed", product.holders) % {
                "count": product.holders, "seats": product.seats_freed}
            options.append(option)
        return options

    def get_initial(self) -> dict[str, Any]:
        # From the License usage report's button: that product ticked.
        wanted = set(self.request.GET.getlist("product"))
        return {"products": [o.code for o in self.options if o.code in wanted]}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({"preview": self.preview, "idle_days": self.days})
        return context

    def run(self, users: QuerySet, codes: list[str], user: Any) -> Any:
        return operations.recall_idle_seats(users, codes, days=self.days, user=user,
                                            source=AssignmentSource.BULK)
