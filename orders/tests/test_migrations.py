"""Data migrations run on orders stored before them, as a deployment finds them."""

import pytest
from django.db import DatabaseError, connection, connections

from orders.models import Order
from tests.concurrency import requires_postgresql
from tests.migrations import migrate_to

BEFORE = [("orders", "0013_queued_api_messages")]


@pytest.mark.django_db(transaction=True)
def test_orders_stored_before_0014_get_their_folded_name_and_international_phone(merchant):
    # given: orders written by the old services (phone digits as typed, no folded name)
    old_order = migrate_to(BEFORE).get_model("orders", "Order")
    try:
        for order_id, phone, country in (("FR-1", "06 12 34 56 78", "FR"),
                                         ("US-1", "(512) 555-0100", "US"),
                                         ("XX-1", "12-34", "FR")):  # fmt: skip
            old_order.objects.create(
                merchant_id=merchant.pk, order_id=order_id, customer_name="María LÓPEZ",
                customer_phone=phone, customer_phone_digits="".join(filter(str.isdigit, phone)),
                country_code=country,
            )  # fmt: skip
    finally:
        # when
        migrate_to()
    # then
    assert sorted(Order.objects.values_list("order_id", "customer_name_search",
                                            "customer_phone_digits")) == [
        ("FR-1", "maria lopez", "33612345678"),
        ("US-1", "maria lopez", "15125550100"),
        ("XX-1", "maria lopez", "1234"),
    ]  # fmt: skip


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_orders_stay_readable_while_0014s_backfill_rewrites_them(merchant):
    # given: orders stored before 0014, and a reader (another connection) that gives up on a lock
    # after 1 s, as the API's queries would time out
    old_order = migrate_to(BEFORE).get_model("orders", "Order")
    reads = []
    reader = connections.create_connection("default")
    try:
        for order_id in ("A-1", "A-2", "A-3"):
            old_order.objects.create(merchant_id=merchant.pk, order_id=order_id,
                                     customer_name="José", country_code="FR")  # fmt: skip

        def read_after_each_batch(execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if sql.startswith('UPDATE "orders_order"'):
                reads.append(_read_orders(reader))
            return result

        # when
        with connection.execute_wrapper(read_after_each_batch):
            migrate_to()
    finally:
        reader.close()
        migrate_to()
    # then: the reader was never locked out, and the backfill did its work
    assert reads == [3]
    assert sorted(Order.objects.values_list("order_id", "customer_name_search")) == [
        ("A-1", "jose"), ("A-2", "jose"), ("A-3", "jose"),
    ]  # fmt: skip


def _read_orders(reader):
    reader.ensure_connection()
    try:
        # SET LOCAL: this transaction's alone, also through PgBouncer (tests/pooled.py)
        with reader.connection.transaction(), reader.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            cursor.execute("SELECT count(*) FROM orders_order")
            return cursor.fetchone()[0]
    except DatabaseError as error:
        return type(error).__name__
