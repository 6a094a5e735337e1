"""Seats follow users: deactivating, reactivating or deleting a user changes seats at once."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from .models import LicenseAssignment

DISPATCH_PREFIX = "wagtail_licensing"


def _remember_active(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    previous = sender._default_manager.filter(pk=instance.pk).values_list(
        "is_active", flat=True).first()
    instance._wagtail_licensing_was_active = previous


def _active_changed(sender, instance, created=False, raw=False, **kwargs):
    if raw or created:
        return
    previous = getattr(instance, "_wagtail_licensing_was_active", None)
    if previous is None or previous == instance.is_active:
        return
    from .operations import user_status_changed

    user_status_changed(instance)


def _remember_assignments(sender, instance, **kwargs):
    instance._wagtail_licensing_codes = list(
        LicenseAssignment.objects.filter(user_id=instance.pk).values_list(
            "product_code", flat=True)
    )


def _deleted(sender, instance, **kwargs):
    codes = getattr(instance, "_wagtail_licensing_codes", None)
    if codes:
        from .operations import user_status_changed

        user_status_changed(instance, deleted_codes=codes)



def after_set_active_state(request, action_type, objects, action):
    """Wagtail's "Set active state" bulk action on users (Settings > Users) changes
    ``is_active`` with one ``UPDATE``, so the ``post_save`` above never runs: move the seats of
    the users whose state changed. ``objects`` were loaded before the update, so their
    ``is_active`` is the old one."""
    User = get_user_model()
    if action_type != "set_active_state" or getattr(action, "model", None) is not User:
        return
    form = getattr(action, "cleaned_form", None)
    if form is None or "mark_as_active" not in form.cleaned_data:
        return
    active = form.cleaned_data["mark_as_active"]
    changed = [user.pk for user in objects if user.is_active != active]
    if changed:
        from .operations import users_status_changed

        users_status_changed(User._default_manager.filter(pk__in=changed), user=request.user)

def register_signal_handlers():
    User = get_user_model()
    pre_save.connect(_remember_active, sender=User, dispatch_uid=f"{DISPATCH_PREFIX}.pre_save")
    post_save.connect(_active_changed, sender=User, dispatch_uid=f"{DISPATCH_PREFIX}.post_save")
    pre_delete.connect(_remember_assignments, sender=User,
                       dispatch_uid=f"{DISPATCH_PREFIX}.pre_delete")
    post_delete.connect(_deleted, sender=User, dispatch_uid=f"{DISPATCH_PREFIX}.post_delete")

    # Enforcement: cached access follows groups and permissions; concurrent slots follow logins.
    from . import concurrent, enforcement

    enforcement.register_signal_handlers()
    concurrent.register_signal_handlers()
