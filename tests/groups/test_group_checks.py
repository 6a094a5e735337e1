"""System checks of group-based licensing (wagtail_licensing.W070, E070): the user model must
have a ``groups`` many-to-many relation to ``auth.Group``."""

from unittest import mock

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.checks import run_checks
from django.db import models
from django.test.utils import isolate_apps

from wagtail_licensing import checks
from wagtail_licensing.enforcement import signals


def group_check_ids(user_model=None):
    if user_model is None:
        messages = checks.check_group_licensing()
    else:
        with mock.patch.object(checks, "get_user_model", return_value=user_model):
            messages = checks.check_group_licensing()
    return [m.id for m in messages]


def test_the_default_user_model_passes():
    assert group_check_ids() == []
    assert not [m for m in run_checks() if m.id.startswith("wagtail_licensing.W07")
                or m.id.startswith("wagtail_licensing.E07")]


@isolate_apps("tests.testapp")
def test_a_user_model_without_groups_is_warned_about():
    class NoGroupsUser(AbstractBaseUser):  # no PermissionsMixin
        username = models.CharField(max_length=150, unique=True)
        is_active = models.BooleanField(default=True)
        USERNAME_FIELD = "username"

        class Meta:
            app_label = "testapp"

    with mock.patch.object(checks, "get_user_model", return_value=NoGroupsUser):
        [warning] = checks.check_group_licensing()
    assert warning.id == "wagtail_licensing.W070"
    assert "testapp.NoGroupsUser has no 'groups' relation" in warning.msg
    assert "group-based licensing cannot work" in warning.msg
    assert "PermissionsMixin" in warning.hint


@isolate_apps("tests.testapp")
def test_groups_relating_to_another_model_is_an_error():
    class Team(models.Model):
        name = models.CharField(max_length=80)

        class Meta:
            app_label = "testapp"

        def __str__(self):
            return self.name

    class TeamUser(AbstractBaseUser):
        username = models.CharField(max_length=150, unique=True)
        groups = models.ManyToManyField(Team)
        USERNAME_FIELD = "username"

        class Meta:
            app_label = "testapp"

    class FkGroupUser(AbstractBaseUser):
        username = models.CharField(max_length=150, unique=True)
        groups = models.ForeignKey(Group, null=True, on_delete=models.SET_NULL)
        USERNAME_FIELD = "username"

        class Meta:
            app_label = "testapp"

    assert group_check_ids(TeamUser) == ["wagtail_licensing.E070"]
    assert group_check_ids(FkGroupUser) == ["wagtail_licensing.E070"]
    with mock.patch.object(checks, "get_user_model", return_value=TeamUser):
        [error] = checks.check_group_licensing()
    assert "relates to testapp.Team, not to auth.Group" in error.msg


@pytest.mark.django_db
@isolate_apps("tests.testapp")
def test_signals_connect_without_groups_or_permissions():
    class BareUser(AbstractBaseUser):
        username = models.CharField(max_length=150, unique=True)
        USERNAME_FIELD = "username"

        class Meta:
            app_label = "testapp"

    assert signals._m2m_through(BareUser, "groups") is None
    assert signals._m2m_through(BareUser, "user_permissions") is None
    with mock.patch.object(signals, "get_user_model", return_value=BareUser):
        signals.register()  # connects what applies, raises nothing
