"""Every existing shipment gets its public id, a batch at a time, each batch committed on its own
(non-atomic), so the table stays writable and a stopped run goes on where it stopped."""

import uuid

from django.db import migrations

BATCH = 5000


def public_ids_filled(apps, schema_editor):
    shipment = apps.get_model("orders", "Shipment")
    if schema_editor.connection.vendor == "postgresql":  # gen_random_uuid(): PostgreSQL 13+
        with schema_editor.connection.cursor() as cursor:
            while True:
                cursor.execute(
                    "UPDATE orders_shipment SET public_id = gen_random_uuid() WHERE id IN"
                    " (SELECT id FROM orders_shipment WHERE public_id IS NULL LIMIT %s)",
                    [BATCH],
                )
                if cursor.rowcount < BATCH:
                    return
    while True:
        rows = list(shipment.objects.filter(public_id__isnull=True).only("pk")[:BATCH])
        for row in rows:
            row.public_id = uuid.uuid4()
        shipment.objects.bulk_update(rows, ["public_id"])
        if len(rows) < BATCH:
            return


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0020_shipment_public_id"),
    ]

    operations = [
        migrations.RunPython(public_ids_filled, migrations.RunPython.noop, elidable=True),
    ]
