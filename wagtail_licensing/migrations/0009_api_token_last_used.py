from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_licensing", "0008_usage_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="last_used_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last used"),
        ),
    ]
