"""System checks with stable IDs (documented in the README)."""

from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULTS, licensing_settings


@register(Tags.security)
def check_vendor_keys(app_configs=None, **kwargs):
    from . import keys

    messages = []
    configured = licensing_settings.VENDOR_PUBLIC_KEYS or {}
    if not configured:
        messages.append(Warning(
            "No vendor public key is configured, so no license file can be verified or "
            "installed.",
            hint="Add the vendor's Ed25519 public key to WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS'] "
                 "as {'key id': 'PEM text or path to a .pem file'}.",
            id="wagtail_licensing.W001",
        ))
        return messages
    _loaded, errors = keys.load_all()
    for kid, error in sorted(errors.items()):
        messages.append(Error(
            f"The vendor public key {kid!r} cannot be used: {error}.",
            hint="Fix the PEM text or the path in WAGTAIL_LICENSING['VENDOR_PUBLIC_KEYS'].",
            id="wagtail_licensing.E002",
        ))
    return messages


@register()
def check_settings(app_configs=None, **kwargs):
    messages = []
    if licensing_settings.DEMO_ACCESS not in ("all", "managers"):
        messages.append(Error(
            f"WAGTAIL_LICENSING['DEMO_ACCESS'] is {licensing_settings.DEMO_ACCESS!r}.",
            hint="Use 'all' or 'managers'.",
            id="wagtail_licensing.E003",
        ))
    for name in licensing_settings._unknown:
        messages.append(Warning(
            f"WAGTAIL_LICENSING has an unknown key {name!r}.",
            hint="Known keys: " + ", ".join(sorted(DEFAULTS)) + ".",
            id="wagtail_licensing.W004",
        ))
    for name in ("GRACE_DAYS", "WARN_DAYS", "CONCURRENT_IDLE_MINUTES"):
        value = getattr(licensing_settings, name)
        if type(value) is not int or value < 0:
            messages.append(Error(
                f"WAGTAIL_LICENSING[{name!r}] must be a whole number from 0 up, not {value!r}.",
                id="wagtail_licensing.E005",
            ))
    return messages
