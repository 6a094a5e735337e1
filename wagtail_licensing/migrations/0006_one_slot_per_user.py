"""A user holds at most one concurrent slot per product.

Before, racing first requests of one session (and each browser) took a slot each. The extra
slots are freed first, keeping the one used last, so that the constraint can be added.
"""

from django.conf import settings
from django.db import migrations, models


def delete_extra_slots(apps, schema_editor):
    ConcurrentSession = apps.get_model("wagtail_licensing", "ConcurrentSession")
    db = schema_editor.connection.alias
    kept: set[tuple[int, str]] = set()
    extra = []
    rows = (ConcurrentSession.objects.using(db).order_by("user_id", "product_code",
                                                         "-last_seen", "-pk")
            .values_list("pk", "user_id", "product_code"))
    for pk, user_id, code in rows.iterator():
        if (user_id, code) in kept:
            extra.append(pk)
        else:
            kept.add((user_id, code))
    for start in range(0, len(extra), 500):
        ConcurrentSession.objects.using(db).filter(pk__in=extra[start:start + 500]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('wagtail_licensing', '0005_listing_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(delete_extra_slots, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name='concurrentsession',
            constraint=models.UniqueConstraint(fields=('user', 'product_code'), name='wagtail_licensing_one_slot_per_user'),
        ),
    ]
