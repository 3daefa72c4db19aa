"""The merchant is no longer indexed alone on the tables that grow with traffic where another index
already leads with it: the inbound log (written on every request), trackers, audit entries and
inbound files. As in 0009, only the index is dropped; the foreign key stays."""

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
                f'CREATE INDEX "{index}" ON "orders_{model_name}" ("merchant_id")',
            ),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0004_oms_channels"),
        ("orders", "0011_inbound_unaccepted_source_idx"),
    ]

    operations = [
        merchant_index_dropped(
            "inboundmessage", "orders_inboundmessage_merchant_id_63f5e91d", "inbound_messages"
        ),
        merchant_index_dropped("tracker", "orders_tracker_merchant_id_3e8cdcdf", "trackers"),
        merchant_index_dropped("auditentry", "orders_auditentry_merchant_id_cee892a4", "+"),
        merchant_index_dropped("inboundfile", "orders_inboundfile_merchant_id_df3b633f", "+"),
    ]
