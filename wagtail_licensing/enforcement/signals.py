"""Every signal receiver of wagtail_licensing, connected by ``register()`` from ``apps.ready()``.

- Seats follow users: deactivating, reactivating or deleting a user changes seats at once.
- The user census (``census``) follows accounts created, (de)activated, deleted, and portal
  markers; so do the counters of the products a user who became a portal user holds.
- Cached access follows groups, permissions, accounts and portal markers (``snapshot.py``).
- Concurrent slots follow logins and logouts (``sessions.py``).
- Settings: a changed ``WAGTAIL_LICENSING`` or ``TIME_ZONE`` changes the decisions' stamp; a
  changed ``ROOT_URLCONF`` moves the admin.

One dispatch-uid prefix, ``wagtail_licensing.``, so connecting twice never doubles a receiver.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.signals import setting_changed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest

from .. import census, operations
from ..models import GroupLicense, LicenseAssignment, PortalUser
from . import gate, sessions
from .snapshot import forget_fingerprint, invalidate_all_users, invalidate_user

DISPATCH_PREFIX = "wagtail_licensing."


# Seats follow users ----------------------------------------------------------------------------


def _remember_active(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    previous = sender._default_manager.filter(pk=instance.pk).values_list(
        "is_active", flat=True).first()
    instance._wagtail_licensing_was_active = previous


def _active_changed(sender: Any, instance: Any, created: bool = False, raw: bool = False,
                    **kwargs: Any) -> None:
    if created:  # a fixture's user too: the row is there
        census.move(users=1, active=1 if instance.is_active else 0)
        return
    if raw:
        return
    previous = getattr(instance, "_wagtail_licensing_was_active", None)
    if previous is None or previous == instance.is_active:
        return
    operations.user_status_changed(instance)
    census.user_active_changed(instance, now_active=instance.is_active)


def _remember_assignments(sender: Any, instance: Any, **kwargs: Any) -> None:
    # As stored, not as this object says: it may have been loaded before a deactivation.
    instance._wagtail_licensing_was_active = sender._default_manager.filter(
        pk=instance.pk).values_list("is_active", flat=True).first()
    instance._wagtail_licensing_codes = list(
        LicenseAssignment.objects.filter(user_id=instance.pk).values_list(
            "product_code", flat=True)
    )


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    # The portal user row went first, and moved the portal count.
    was_active = getattr(instance, "_wagtail_licensing_was_active", instance.is_active)
    census.move(users=-1, active=-1 if was_active else 0)
    codes = getattr(instance, "_wagtail_licensing_codes", None)
    if codes:
        operations.user_status_changed(instance, deleted_codes=codes)


def after_set_active_state(request: HttpRequest, action_type: str, objects: list[Any],
                           action: Any) -> None:
    """Wagtail's "Set active state" bulk action on users (Settings > Users) changes
    ``is_active`` with one ``UPDATE``, so the ``post_save`` above never runs: move the seats of
    the users whose state changed. ``objects`` were loaded before the update, so their
    ``is_active`` is the old one. An ``after_bulk_action`` hook (``wagtail_hooks``), not a
    signal, but the same rule as ``_active_changed``."""
    User = get_user_model()
    if action_type != "set_active_state" or getattr(action, "model", None) is not User:
        return
    form = getattr(action, "cleaned_form", None)
    if form is None or "mark_as_active" not in form.cleaned_data:
        return
    active = form.cleaned_data["mark_as_active"]
    changed = [user.pk for user in objects if user.is_active != active]
    if changed:
        operations.users_status_changed(User._default_manager.filter(pk__in=changed),
                                        user=request.user)


def _portal_user_created(sender: Any, instance: Any, created: bool = False, raw: bool = False,
                         **kwargs: Any) -> None:
    if created:
        _portal_status_changed(instance, 1, raw=raw)


def _portal_user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Before its user's row, when the user is deleted: that user is still there to read.
    _portal_status_changed(instance, -1)


def _portal_status_changed(portal_user: PortalUser, sign: int, *, raw: bool = False) -> None:
    """A user became (``sign`` 1) or stopped being (-1) a portal user: the census, and the
    counters of the products they hold, which count active portal holders."""
    if get_user_model()._default_manager.filter(pk=portal_user.user_id,
                                                is_active=True).exists():
        census.move(portal=sign)
    # Only a holder's counters change; a user holding nothing costs no licensing lock.
    if not raw and LicenseAssignment.objects.filter(user_id=portal_user.user_id).exists():
        operations.portal_status_changed(portal_user.user_id)


# Licenses follow group memberships (group-based licensing) ------------------------------------


def _memberships_changed(sender: Any, instance: Any, action: str, reverse: bool,
                         pk_set: set[Any] | None, **kwargs: Any) -> None:
    """``user.groups.add/remove/set/clear`` and ``group.user_set...``: from Wagtail's user and
    group forms, bulk actions, a user created in a group, an LDAP/SSO sync or site code."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, Group):  # group.user_set.*: pk_set holds users
        users = None if action == "post_clear" else list(pk_set or ())
        if users == []:
            return
        operations.group_memberships_changed(users, [instance.pk])
    else:
        groups = None if action == "post_clear" else list(pk_set or ())
        if groups == []:
            return
        operations.group_memberships_changed([instance.pk], groups)


def _remember_group_codes(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._wagtail_licensing_bound = list(GroupLicense.objects.filter(
        group_id=instance.pk).values_list("product_code", flat=True))


def _bound_group_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A deleted group took its bindings and sources with it: what only it gave goes."""
    codes = getattr(instance, "_wagtail_licensing_bound", None)
    if codes:
        operations.group_deleted(codes, group_name=instance.name)


# Cached access follows groups, permissions, accounts -------------------------------------------


def _user_saved(sender: Any, instance: Any, created: bool = False, raw: bool = False,
                update_fields: Any = None, **kwargs: Any) -> None:
    if raw or created:
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves last_login: nothing the license check depends on
    invalidate_user(instance.pk)


def _user_m2m_changed(sender: Any, instance: Any, action: str, reverse: bool,
                      pk_set: set[Any] | None, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, get_user_model()):
        invalidate_user(instance.pk)
    elif action == "post_clear" or not pk_set:
        invalidate_all_users()
    else:  # group.user_set.add(...) and the like: pk_set holds users
        for pk in pk_set:
            invalidate_user(pk)


def _group_permissions_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_"):
        invalidate_all_users()


def _group_deleted(sender: Any, **kwargs: Any) -> None:
    invalidate_all_users()


def _portal_user_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        invalidate_user(instance.user_id)


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("WAGTAIL_LICENSING", "TIME_ZONE"):
        forget_fingerprint()
    elif setting == "ROOT_URLCONF":
        gate.forget_admin_prefixes()


# Concurrent slots follow logins ----------------------------------------------------------------


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.note_login(request)


def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.end_session_slot(request, user)


def _m2m_through(model: Any, name: str) -> Any:
    """The through model of ``model``'s many-to-many field ``name``, or None without one."""
    field = getattr(model, name, None)
    return getattr(field, "through", None)


def register() -> None:
    """Connect every receiver (``apps.ready()``); idempotent through the dispatch uids."""
    User = get_user_model()
    uid = DISPATCH_PREFIX

    pre_save.connect(_remember_active, sender=User, dispatch_uid=f"{uid}user_pre_save")
    post_save.connect(_active_changed, sender=User, dispatch_uid=f"{uid}user_active_changed")
    pre_delete.connect(_remember_assignments, sender=User, dispatch_uid=f"{uid}user_pre_delete")
    post_delete.connect(_deleted, sender=User, dispatch_uid=f"{uid}user_deleted")

    # A user model without groups or permissions (no PermissionsMixin: checks W070) has no
    # memberships to follow; the rest of licensing works as usual.
    groups = _m2m_through(User, "groups")
    if groups is not None:
        m2m_changed.connect(_memberships_changed, sender=groups,
                            dispatch_uid=f"{uid}group_licenses_memberships")
        pre_delete.connect(_remember_group_codes, sender=Group,
                           dispatch_uid=f"{uid}group_licenses_pre_delete")
        post_delete.connect(_bound_group_deleted, sender=Group,
                            dispatch_uid=f"{uid}group_licenses_deleted")

    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{uid}user_saved")
    for through in filter(None, (groups, _m2m_through(User, "user_permissions"))):
        m2m_changed.connect(_user_m2m_changed, sender=through,
                            dispatch_uid=f"{uid}m2m.{through._meta.label}")
    m2m_changed.connect(_group_permissions_changed, sender=Group.permissions.through,
                        dispatch_uid=f"{uid}group_permissions")
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid=f"{uid}group_deleted")
    post_delete.connect(_group_deleted, sender=Permission,
                        dispatch_uid=f"{uid}permission_deleted")
    for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(_portal_user_changed, sender=PortalUser,
                       dispatch_uid=f"{uid}portal_user_{name}")
    post_save.connect(_portal_user_created, sender=PortalUser,
                      dispatch_uid=f"{uid}portal_user_census_created")
    post_delete.connect(_portal_user_deleted, sender=PortalUser,
                        dispatch_uid=f"{uid}portal_user_census_deleted")
    setting_changed.connect(_setting_changed, dispatch_uid=f"{uid}setting_changed")

    user_logged_in.connect(_logged_in, dispatch_uid=f"{uid}logged_in")
    user_logged_out.connect(_logged_out, dispatch_uid=f"{uid}logged_out")
