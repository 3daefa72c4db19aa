from django.db import migrations, models

from orders.search import name_folded
from orders.services import phone_digits

BATCH = 2000

# PostgreSQL only (SQLite searches with LIKE): the name indexes of 0004 move to the folded name
# (no accents, no case), which is what search now compares.
NAME_INDEXES = [
    "CREATE INDEX IF NOT EXISTS order_name_search_trgm_idx ON orders_order"
    " USING gin (customer_name_search gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS order_name_search_fts_idx ON orders_order"
    " USING gin (to_tsvector('simple', customer_name_search))",
    "DROP INDEX IF EXISTS order_name_trgm_idx",
    "DROP INDEX IF EXISTS order_name_fts_idx",
]
OLD_NAME_INDEXES = [
    "CREATE INDEX IF NOT EXISTS order_name_trgm_idx ON orders_order"
    " USING gin (upper(customer_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS order_name_fts_idx ON orders_order"
    " USING gin (to_tsvector('simple', customer_name))",
    "DROP INDEX IF EXISTS order_name_search_trgm_idx",
    "DROP INDEX IF EXISTS order_name_search_fts_idx",
]


def normalize_stored_orders(apps, schema_editor):
    """Existing orders get their folded name, and their phone's digits read in the order's
    country ("06 12 34 56 78" in FR becomes "33612345678"), as the services now store them."""
    order_model = apps.get_model("orders", "Order")
    last_pk = 0
    while True:
        batch = list(
            order_model.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "customer_name", "customer_phone", "country_code")[:BATCH]
        )
        if not batch:
            return
        for order in batch:
            order.customer_name_search = name_folded(order.customer_name)
            order.customer_phone_digits = phone_digits(order.customer_phone, order.country_code)
        order_model.objects.bulk_update(batch, ["customer_name_search", "customer_phone_digits"])
        last_pk = batch[-1].pk


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_queued_api_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="customer_name_search",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunPython(normalize_stored_orders, migrations.RunPython.noop),
        migrations.RunPython(_run(NAME_INDEXES), _run(OLD_NAME_INDEXES)),
    ]
