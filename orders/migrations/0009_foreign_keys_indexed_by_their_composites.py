"""Foreign keys no longer indexed alone where a unique constraint or index already leads with
them (docs/scaling.md, "What grows"). Only the indexes are dropped: the state says db_index=False,
and the constraints stay as they are (AlterField would drop and re-add each foreign key, which
checks every row of the table again)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0004_oms_channels"),
        ("orders", "0008_inbound_log_lz4"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lineitem",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="line_items",
                        to="orders.order",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="orders",
                        to="merchants.merchant",
                    ),
                ),
                migrations.AlterField(
                    model_name="processedevent",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
                migrations.AlterField(
                    model_name="shipment",
                    name="merchant",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="shipments",
                        to="merchants.merchant",
                    ),
                ),
                migrations.AlterField(
                    model_name="shipmentitem",
                    name="shipment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="orders.shipment",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_lineitem_order_id_17fe02bd"',
                    'CREATE INDEX "orders_lineitem_order_id_17fe02bd" ON "orders_lineitem" ("order_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_order_merchant_id_ab634f2d"',
                    'CREATE INDEX "orders_order_merchant_id_ab634f2d" ON "orders_order" ("merchant_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_processedevent_merchant_id_28adf154"',
                    'CREATE INDEX "orders_processedevent_merchant_id_28adf154" ON "orders_processedevent" ("merchant_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_shipment_merchant_id_99b5f8bf"',
                    'CREATE INDEX "orders_shipment_merchant_id_99b5f8bf" ON "orders_shipment" ("merchant_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_shipmentitem_shipment_id_023a6562"',
                    'CREATE INDEX "orders_shipmentitem_shipment_id_023a6562" ON "orders_shipmentitem" ("shipment_id")',
                ),
            ],
        ),
    ]
