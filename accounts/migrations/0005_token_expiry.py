"""Every API token expires. Tokens made without an expiry get one: a year after they were made,
but no sooner than 30 days from this migration, so that no RIS stops without warning."""

from datetime import timedelta

from django.db import migrations, models
from django.utils import timezone

import accounts.models

YEAR = timedelta(days=365)
NOTICE = timedelta(days=30)


def give_every_token_an_expiry(apps, schema_editor):
    earliest = timezone.now() + NOTICE
    for name in ("ApiToken", "HistoricalApiToken"):
        model = apps.get_model("accounts", name)
        for row in model.objects.filter(expires_at__isnull=True).only("pk", "created_at"):
            row.expires_at = max(row.created_at + YEAR, earliest)
            row.save(update_fields=["expires_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_audit_append_only'),
    ]

    operations = [
        migrations.RunPython(give_every_token_an_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(default=accounts.models.api_token_expiry),
        ),
        migrations.AlterField(
            model_name='historicalapitoken',
            name='expires_at',
            field=models.DateTimeField(default=accounts.models.api_token_expiry),
        ),
    ]
