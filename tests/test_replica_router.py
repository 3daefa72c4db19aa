"""ReplicaRouter's decisions (flextracker/replica.py), on any database: which reads may leave the
primary. tests/test_replica.py proves them against a real standby."""

import pytest
from django.db import DEFAULT_DB_ALIAS, router, transaction

from flextracker.replica import REPLICA, reads_on_replica, request_reads
from orders.models import Order

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
        assert router.db_for_write(Order) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # this request wrote
    assert router.db_for_read(Order) == DEFAULT_DB_ALIAS  # the next request starts afresh


def test_a_write_before_the_view_reads_leaves_the_reads_on_the_replica():
    with request_reads():
        router.db_for_write(Order)  # authentication recording when a key was last used
        reads_on_replica()
        assert router.db_for_read(Order) == REPLICA


def test_migrations_run_on_the_primary_only():
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "orders")
    assert not router.allow_migrate(REPLICA, "orders")
