"""The inbound log's raw bodies and answers compressed with lz4 rather than PostgreSQL's default
pglz. A batch's body and answer are ~700 KB of JSON: pglz spent ~5 ms of PostgreSQL's CPU on each
batch, lz4 ~1 ms, for a few percent more disk (docs/benchmarks.md, Ingest). Only where the server
was built with lz4 (PostgreSQL 14+, as Debian's and the official images are); SQLite has no TOAST."""

from django.db import migrations

COLUMNS = ("body", "response_body")


def _compress_with(method: str):
    def apply(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
                " AND %s = ANY(enumvals)",
                [method],
            )
            if cursor.fetchone() is None:
                return
            alters = ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}"
                               for column in COLUMNS)  # fmt: skip
            cursor.execute(f"ALTER TABLE orders_inboundmessage {alters}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_inbound_response_as_sent")]

    operations = [migrations.RunPython(_compress_with("lz4"), _compress_with("pglz"))]
