# Adds WebhookEndpoint.public_id (the API's `{id}`) and one subscription per merchant and URL.
# A callable default gives every existing row the same value, so the field is added nullable,
# filled row by row, then made unique (Django's "migrations that add unique fields" recipe).

import secrets

from django.db import migrations, models

import notifications.models


def fill_public_ids(apps, schema_editor):
    WebhookEndpoint = apps.get_model("notifications", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.filter(public_id__isnull=True).only("pk"):
        endpoint.public_id = f"whk_{secrets.token_hex(12)}"
        endpoint.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="webhookendpoint",
            options={"ordering": ["-created_at", "-id"]},
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="public_id",
            field=models.CharField(editable=False, max_length=40, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="public_id",
            field=models.CharField(
                default=notifications.models.webhook_public_id,
                editable=False,
                max_length=40,
                unique=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.UniqueConstraint(
                fields=("merchant", "url"), name="webhook_endpoint_unique_url"
            ),
        ),
    ]
