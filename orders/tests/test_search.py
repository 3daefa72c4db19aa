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
        ("fdc-1001", "order ID (part)"),
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


@pytest.fixture
def maria(merchant):
    return create_order(
        merchant, "FDC-2002", customer_name="María López", customer_email="maria@example.fr",
        customer_phone="+33 6 12 34 56 78", shipping_address={"country_code": "FR"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ("maria lopez", "name"),
        ("MARIA LÓPEZ", "name"),
        ("lopez maria", "name"),
        ("ria lop", "name (part)"),
        ("2002", "order ID (part)"),
        ("06 12 34 56 78", "phone"),
        ("0612345678", "phone"),
        ("+33 6 12 34 56 78", "phone"),
        ("0033 6 12 34 56 78", "phone"),
    ],
)
def test_finds_accented_names_partial_order_ids_and_national_phones(
    staff, merchant, maria, query, matched
):
    # given: another order, to be left out
    create_order(merchant, "FDC-1001", customer_name="Mario Lopes")
    # when
    hits = orders_search(staff, query)
    # then

    assert [(hit.order.order_id, hit.matched) for hit in hits] == [("FDC-2002", matched)]


def test_a_name_stored_without_accents_is_found_with_them(staff, merchant):
    create_order(merchant, "FDC-3003", customer_name="Maria Lopez")

    assert _found(staff, "María López") == ["FDC-3003"]


def test_phones_are_stored_as_their_international_digits_read_in_the_orders_country(merchant):
    french = create_order(merchant, "FR-1", customer_phone="06 12 34 56 78",
                          shipping_address={"country_code": "FR"})  # fmt: skip
    american = create_order(merchant, "US-1", customer_phone="(512) 555-0100",
                            shipping_address={"country_code": "US"})  # fmt: skip
    unknown = create_order(merchant, "XX-1", customer_phone="12-34",
                           shipping_address={"country_code": "FR"})  # fmt: skip

    assert french.customer_phone_digits == "33612345678"
    assert american.customer_phone_digits == "15125550100"
    assert unknown.customer_phone_digits == "1234"  # not a valid number: kept as given


def test_a_partial_order_id_or_accent_free_name_never_finds_another_merchants_order(
    merchant, other_merchant, maria
):
    create_order(other_merchant, "OTH-2002", customer_name="María López",
                 customer_phone="+33 6 12 34 56 78",
                 shipping_address={"country_code": "FR"})  # fmt: skip
    agent = member_of(merchant, "agent")

    for query in ("maria lopez", "2002", "06 12 34 56 78"):
        assert [hit.order.order_id for hit in orders_search(agent, query)] == ["FDC-2002"]
