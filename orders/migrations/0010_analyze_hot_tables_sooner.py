"""The tables the ingest looks up by merchant are analyzed after 1 % of their rows change rather
than autovacuum's default 10 %. PostgreSQL picks the index for "this merchant's orders with these
IDs" from its statistics; for a merchant they do not know yet (a new one's first bulk load) it
scanned all that merchant's rows on each lookup: 10–15 ms instead of 0.5–0.7 ms at 65,750 orders,
growing until the next ANALYZE (docs/scaling.md, "Statistics after a burst")."""

from django.db import migrations

TABLES = ("orders_order", "orders_shipment", "orders_processedevent")


def _analyze_after(scale_factor: str | None):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            if scale_factor is None:
                schema_editor.execute(f"ALTER TABLE {table} RESET (autovacuum_analyze_scale_factor)")
            else:
                schema_editor.execute(
                    f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = {scale_factor})"
                )

    return apply


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_foreign_keys_indexed_by_their_composites")]

    operations = [migrations.RunPython(_analyze_after("0.01"), _analyze_after(None))]
