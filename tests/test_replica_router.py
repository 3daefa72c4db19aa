"""ReplicaRouter's decisions (flextracker/replica.py), on any database: which reads may leave the
primary. tests/test_replica.py proves them against a real standby."""

import pytest
from django.db import DEFAULT_DB_ALIAS, router, transaction

from flextracker.replica import REPLICA, reads_on_replica, request_reads
from orders.models import Order, Shipment

pytestmark = pytest.mark.django_db(transaction=True)  # outside the test's own transaction


@pytest.fixture(autouse=True)
def _router(settings):
    settings.DATABASE_ROUTERS = ["flextracker.replica.ReplicaRouter"]


def test_reads_leave_the_primary_only_in_a_read_only_view_outside_transactions_before_writing():
    assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # no view said it only reads
    with request_reads():
        assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # not yet: authentication
        reads_on_replica()
        assert router.db_for_read(Order) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(Order) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Order) == REPLICA
        Order.objects.filter(pk=0).update(locale="en")
        assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # this request wrote
    assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # the next request starts afresh


def test_a_write_before_the_view_reads_leaves_the_reads_on_the_replica():
    with request_reads():
        Order.objects.filter(pk=0).update(locale="en")  # as authentication notes a key's use
        reads_on_replica()
        assert router.db_for_read(Order) == REPLICA


def test_an_object_built_in_memory_is_not_a_write():
    with request_reads():
        reads_on_replica()
        Shipment(order=Order(merchant_id=1, order_id="1001"))  # Django asks where it would write
        with transaction.atomic(), transaction.atomic():  # a savepoint writes nothing
            pass
        assert router.db_for_read(Order) == REPLICA


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "orders")
    assert not router.allow_migrate(REPLICA, "orders")
