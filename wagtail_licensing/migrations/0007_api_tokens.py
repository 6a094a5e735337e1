import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("wagtail_licensing", "0006_one_slot_per_user"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("name", models.CharField(help_text="What the token is for, e.g. “Monitoring”.",
                                          max_length=100, verbose_name="name")),
                ("digest", models.CharField(editable=False, max_length=64, unique=True,
                                            verbose_name="SHA-256 digest")),
                ("hint", models.CharField(editable=False,
                                          help_text="The token's first characters, to recognise it.",
                                          max_length=12, verbose_name="first characters")),
                ("read_only", models.BooleanField(
                    default=True,
                    help_text="A read-only token can read licenses, products and assignments, "
                              "but not grant or recall.",
                    verbose_name="read-only")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now,
                                                    verbose_name="created at")),
                ("revoked_at", models.DateTimeField(blank=True, null=True,
                                                    verbose_name="revoked at")),
                ("created_by", models.ForeignKey(
                    blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="created by")),
                ("user", models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="licensing_api_tokens", to=settings.AUTH_USER_MODEL,
                    verbose_name="user")),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created_at", "-id"],
                "default_permissions": (),
            },
        ),
    ]
