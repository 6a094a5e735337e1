"""The user census, the active portal holders of each product and the users who hold a license:
what "Add users" and System users' "Holds no license" number their pages from, without counting
every user (``census``, ``actions.counters``)."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Exists, OuterRef, Q


def count(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    PortalUser = apps.get_model("wagtail_licensing", "PortalUser")
    ProductUsage = apps.get_model("wagtail_licensing", "ProductUsage")
    LicenseAssignment = apps.get_model("wagtail_licensing", "LicenseAssignment")
    UserCensus = apps.get_model("wagtail_licensing", "UserCensus")
    LicensingState = apps.get_model("wagtail_licensing", "LicensingState")
    active = User._default_manager.filter(is_active=True)
    UserCensus.objects.update_or_create(pk=1, defaults={
        "users": User._default_manager.count(),
        "active_users": active.count(),
        "active_portal_users": PortalUser.objects.filter(user__in=active.values("pk")).count(),
    })
    portal = Exists(PortalUser.objects.filter(user_id=OuterRef("user_id")))
    rows = (LicenseAssignment.objects.order_by().values("product_code")
            .annotate(n=Count("pk", filter=Q(user__is_active=True) & Q(portal)))
            .values_list("product_code", "n"))
    for code, n in rows:
        ProductUsage.objects.filter(product_code=code).update(active_portal_holders=n)
    LicensingState.objects.update(license_holders=LicenseAssignment.objects.order_by()
                                  .values("user_id").distinct().count())


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_licensing", "0012_group_binding_count"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="productusage",
            name="active_portal_holders",
            field=models.PositiveIntegerField(
                default=0, help_text="Active holders who are portal users.",
                verbose_name="active portal holders"),
        ),
        migrations.AddField(
            model_name="licensingstate",
            name="license_holders",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.CreateModel(
            name="UserCensus",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("users", models.PositiveIntegerField(default=0, verbose_name="users")),
                ("active_users", models.PositiveIntegerField(default=0,
                                                             verbose_name="active users")),
                ("active_portal_users", models.PositiveIntegerField(
                    default=0, verbose_name="active portal users")),
            ],
            options={
                "verbose_name": "user census",
                "verbose_name_plural": "user census",
                "default_permissions": (),
            },
        ),
        migrations.RunPython(count, migrations.RunPython.noop),
    ]
