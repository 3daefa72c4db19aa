import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from merchants.tests.factories import BrandingTemplateFactory
from orders.services import ItemQuantity, items_backorder, order_cancel
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db


def _page(client, merchant_id: str, order_id: str, **params):
    return client.get(f"/orders/{merchant_id}/{order_id}", params)


def test_the_page_shows_the_order_its_packages_and_what_is_still_to_ship(client, merchant):
    # given
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    items_backorder(merchant=merchant, order_id="1001", items=[ItemQuantity("MUG", 1)])
    # when
    response = _page(client, merchant.merchant_id, "1001")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Order 1001" in html and "SBXDELIVERED0001" in html
    assert "Still to ship" in html and "Tea towel × 1" in html
    assert "Backordered" in html and "Blue mug × 1" in html
    assert response["Cache-Control"] == "private, max-age=60"
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_page_never_shows_the_customers_email_phone_or_street(client, merchant):
    create_order(merchant, "1001")
    html = _page(client, merchant.merchant_id, "1001").content.decode()
    assert "Austin, TX, US" in html
    for private in ("jane@example.com", "555", "1 Main St", "Jane Doe"):
        assert private not in html


def test_an_unknown_order_and_another_merchants_order_are_not_found(
    client, merchant, other_merchant
):
    # given
    create_order(other_merchant, "1001")
    # when
    theirs = _page(client, merchant.merchant_id, "1001")
    no_merchant = _page(client, "NOP-01-00000", "1001")
    # then (pages/tests/test_lookup.py: what they show)
    assert theirs.status_code == no_merchant.status_code == 404
    assert "Placed on" not in theirs.content.decode()


def test_the_template_named_in_the_link_brands_the_page_and_an_unknown_one_falls_back(
    client, merchant
):
    # given
    create_order(merchant, "1001")
    BrandingTemplateFactory(merchant=merchant, name="FDC_TEMPLATE", primary_color="#B71C1C",
                            is_default=True)  # fmt: skip
    BrandingTemplateFactory(merchant=merchant, name="NEWTEMPLATE", primary_color="#004D40")
    # when
    named = _page(client, merchant.merchant_id, "1001", templateName="NEWTEMPLATE")
    unknown = _page(client, merchant.merchant_id, "1001", templateName="NOPE")
    # then
    assert "--header-bg:#004D40" in named.content.decode()
    assert "--header-bg:#B71C1C" in unknown.content.decode()


def test_tracking_id_narrows_the_page_to_one_package(client, merchant):
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    ship(merchant, "1001", "SBXDELIVERED0002", ("TOWEL", 1))
    html = _page(client, merchant.merchant_id, "1001", trackingId="SBXDELIVERED0002").content
    assert b"SBXDELIVERED0002" in html and b"SBXDELIVERED0001" not in html


def test_an_order_id_with_slashes_spaces_and_percent_signs_has_a_page(client, merchant):
    create_order(merchant, "A/B 100%")
    response = client.get(f"/orders/{merchant.merchant_id}/A/B%20100%25")
    assert response.status_code == 200
    assert "Order A/B 100%" in response.content.decode()


def test_cancelled_items_are_listed(client, merchant):
    create_order(merchant, "1001")
    order_cancel(merchant=merchant, order_id="1001", items=[ItemQuantity("TOWEL", 1)])
    html = _page(client, merchant.merchant_id, "1001").content.decode()
    assert "Cancelled items" in html and "Tea towel × 1" in html


def test_the_page_costs_the_same_queries_for_one_package_or_ten(client, merchant):
    # given
    create_order(merchant, "SMALL")
    ship(merchant, "SMALL", "SBXDELIVERED0001", ("MUG", 1))
    create_order(merchant, "BIG", line_items=_many_items(10))
    for n in range(10):
        ship(merchant, "BIG", f"SBXDELIVERED1{n:03d}", (f"SKU-{n}", 1))
    # when
    with CaptureQueriesContext(connection) as small:
        _page(client, merchant.merchant_id, "SMALL")
    with CaptureQueriesContext(connection) as big:
        _page(client, merchant.merchant_id, "BIG")
    # then
    assert len(big) == len(small) <= 10


def _many_items(count: int):
    from orders.services import LineItemInput

    return [LineItemInput(f"SKU-{n}", f"Item {n}", 1) for n in range(count)]
