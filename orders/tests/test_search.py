"""The console search: every identifier a customer may give, ranked, never across merchants.
Runs on SQLite and on PostgreSQL (where trigram and full-text indexes answer)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from merchants.tests.factories import member_of
from orders.search import orders_search
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def jane(merchant):
    create_order(merchant, "FDC-1001", customer_name="Jane Doe", customer_email="jane@example.com",
                 customer_phone="+1 (512) 555-0100",
                 shipping_address={"postal_code": "K1A 0B1", "country_code": "CA"})  # fmt: skip
    ship(merchant, "FDC-1001", "1Z5R89390357567127", ("MUG", 1))
    create_order(merchant, "FDC-1002", customer_name="Maria Lopez", customer_email="m@shop.example",
                 customer_phone="", shipping_address={"postal_code": "78701"})  # fmt: skip
    return "FDC-1001"


def _found(user, query: str) -> list[str]:
    return [hit.order.order_id for hit in orders_search(user, query)]


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ("FDC-1001", "order ID"),
        ("fdc-1001", "order ID (start)"),
        ("1Z5R89390357567127", "tracking number"),
        ("1z 5r8 939 0357 567 127", "tracking number"),
        ("Jane@Example.com", "email"),
        ("(512) 555-0100", "phone"),
        ("+15125550100", "phone"),
        ("512.555.0100", "phone"),
        ("Jane Doe", "name"),
        ("doe jane", "name"),
        ("ane Do", "name (part)"),
        ("k1a0b1", "postal code"),
        ("K1A 0B1", "postal code"),
    ],
)
def test_finds_the_order_by_whatever_the_customer_gives(staff, jane, query, matched):
    hits = orders_search(staff, query)

    assert [(hit.order.order_id, hit.matched) for hit in hits][:1] == [("FDC-1001", matched)]


def test_an_exact_identifier_ranks_above_a_partial_match(staff, merchant, jane):
    create_order(merchant, "FDC-10011", customer_name="Someone Else")

    assert _found(staff, "FDC-1001")[:2] == ["FDC-1001", "FDC-10011"]


def test_nothing_found_is_an_empty_list(staff, jane):
    assert _found(staff, "no such thing") == []
    assert _found(staff, "   ") == []


def test_an_agent_finds_only_their_own_merchants_orders(merchant, other_merchant, jane):
    create_order(other_merchant, "FDC-1001", customer_name="Jane Doe",
                 customer_email="jane@example.com")  # fmt: skip
    ship(other_merchant, "FDC-1001", "1Z5R89390357567127", ("MUG", 1))
    agent = member_of(merchant, "agent")

    for query in ("FDC-1001", "1Z5R89390357567127", "jane@example.com", "Jane Doe", "5125550100"):
        assert {hit.order.merchant_id for hit in orders_search(agent, query)} == {merchant.pk}


def test_a_user_without_a_merchant_finds_nothing(jane):
    nobody = get_user_model().objects.create_user("nobody", password="pw", is_staff=True)

    assert _found(nobody, "FDC-1001") == []


def test_the_number_of_queries_does_not_grow_with_the_hits(staff, merchant, jane):
    for n in range(30):
        create_order(merchant, f"JD-{n}", customer_name="Jane Doe")

    with CaptureQueriesContext(connection) as queries:
        hits = orders_search(staff, "Jane Doe", limit=25)
        [hit.order.merchant.name for hit in hits]

    assert len(hits) == 25
    assert len(queries) <= 10
