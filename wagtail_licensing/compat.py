"""The few Wagtail APIs that differ between the supported releases (7.x LTS and 8.x)."""

from __future__ import annotations

from typing import Any

from django.forms.utils import flatatt
from wagtail.admin.widgets.button import ButtonWithDropdown as _ButtonWithDropdown

try:  # Wagtail 8
    from wagtail.admin.widgets.button import BaseButton
except ImportError:  # Wagtail 7: every button derives from Button
    from wagtail.admin.widgets.button import Button as BaseButton

try:  # Wagtail 8: entries of a listing row's "more" menu
    from wagtail.admin.widgets.button import MenuItem as ListingMenuItem
except ImportError:  # Wagtail 7: listing buttons take the same arguments
    from wagtail.admin.widgets.button import ListingButton as ListingMenuItem

# Wagtail 7 renders dropdown buttons with a template that cannot show their ``attrs``.
_LEGACY_DROPDOWN_TEMPLATE = "wagtailadmin/pages/listing/_button_with_dropdown.html"


class ButtonWithDropdown(_ButtonWithDropdown):
    """Wagtail's dropdown button, rendering its ``attrs`` on every supported release."""

    if _ButtonWithDropdown.template_name == _LEGACY_DROPDOWN_TEMPLATE:
        template_name = "wagtail_licensing/compat/button_with_dropdown.html"

        def get_context_data(self, parent_context: Any) -> dict[str, Any]:
            context = super().get_context_data(parent_context)
            context["attrs_string"] = flatatt(self.attrs)
            return context


__all__ = ["BaseButton", "ButtonWithDropdown", "ListingMenuItem"]


try:  # Wagtail 8.0 and later: a registry of permission policies per model.
    from wagtail.permissions import register_permission_policy
except ImportError:  # Wagtail 7.0 LTS: no registry; our code asks permissions.permission_policy.

    def register_permission_policy(model: Any, policy: Any = None,  # noqa: ARG001
                                   exact_class: bool = False) -> None:
        return None
