"""The merchant is no longer indexed alone where another index already leads with it: the outbox
(a row for every message sent), webhook endpoints and message templates. As in orders 0009, only
the index is dropped; the foreign key stays."""

import django.db.models.deletion
from django.db import migrations, models


def merchant_index_dropped(model_name: str, index: str, related_name: str):
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name=model_name,
                name="merchant",
                field=models.ForeignKey(
                    db_index=False,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name=related_name,
                    to="merchants.merchant",
                ),
            ),
        ],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                f'CREATE INDEX "{index}" ON "notifications_{model_name}" ("merchant_id")',
            ),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0004_oms_channels"),
        ("notifications", "0005_dashboard_indexes"),
    ]

    operations = [
        merchant_index_dropped(
            "notification", "notifications_notification_merchant_id_73bb3d4c", "notifications"
        ),
        merchant_index_dropped(
            "webhookendpoint", "notifications_webhookendpoint_merchant_id_be96cadd",
            "webhook_endpoints",
        ),
        merchant_index_dropped(
            "messagetemplate", "notifications_messagetemplate_merchant_id_77493f80",
            "message_templates",
        ),
    ]
