"""Foreign keys no longer indexed alone where a unique constraint or index already leads with
them (docs/scaling.md, "What grows"). Only the indexes are dropped: the state says db_index=False,
and the constraints stay as they are (AlterField would drop and re-add each foreign key, which
checks every row of the table again)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_foreign_keys_indexed_by_their_composites"),
        ("tracking", "0002_schedules"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="trackingevent",
                    name="shipment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="orders.shipment",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "tracking_trackingevent_shipment_id_d95ac563"',
                    'CREATE INDEX "tracking_trackingevent_shipment_id_d95ac563" ON "tracking_trackingevent" ("shipment_id")',
                ),
            ],
        ),
    ]
