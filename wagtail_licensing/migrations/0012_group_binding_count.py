"""``LicensingState.group_bindings``: how many products are bound to groups, so that a user's
deactivation costs no query for group licensing on a site without bindings."""

from django.db import migrations, models


def count_bindings(apps, schema_editor):
    LicensingState = apps.get_model("wagtail_licensing", "LicensingState")
    GroupLicense = apps.get_model("wagtail_licensing", "GroupLicense")
    LicensingState.objects.update(group_bindings=GroupLicense.objects.count())


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_licensing", "0011_released_slots"),
    ]

    operations = [
        migrations.AddField(
            model_name="licensingstate",
            name="group_bindings",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_bindings, migrations.RunPython.noop),
    ]
