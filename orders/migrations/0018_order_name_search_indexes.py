"""PostgreSQL only (SQLite searches with LIKE): the name indexes of 0004 move to the folded name
(no accents, no case), which is what search now compares.

Built and dropped CONCURRENTLY, outside a transaction: a plain CREATE INDEX blocks every write to
orders_order while it reads the whole table, and DROP INDEX blocks reads too."""

from django.db import migrations

NEW = {
    "order_name_search_trgm_idx": "gin (customer_name_search gin_trgm_ops)",
    "order_name_search_fts_idx": "gin (to_tsvector('simple', customer_name_search))",
}
OLD = {
    "order_name_trgm_idx": "gin (upper(customer_name) gin_trgm_ops)",
    "order_name_fts_idx": "gin (to_tsvector('simple', customer_name))",
}


def _swap(created, dropped):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in created.items():
            _create_concurrently(schema_editor, name, definition)
        for name in dropped:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")

    return run


def _create_concurrently(schema_editor, name, definition):
    """A concurrent build that failed leaves an invalid index behind, which IF NOT EXISTS would
    keep: that one is dropped and built again."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        found = cursor.fetchone()
    if found and found[0]:
        return
    if found:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY {name} ON orders_order USING {definition}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0017_order_search_backfill"),
    ]

    operations = [
        migrations.RunPython(_swap(NEW, OLD), _swap(OLD, NEW)),
    ]
