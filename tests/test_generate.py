"""The benchmarks' data generator (bench/generate_data.py) on the test database: what it writes
keeps the database's rules and the services' ones, and the pages work on it."""

import pytest
from django.db import connection

from bench.generate_data import BIG_MERCHANT, coherence_problems, generate
from carriers.detection import is_valid_for_carrier
from merchants.models import Merchant
from orders.models import LineItem, Order, Shipment, ShipmentItem
from orders.search import name_folded
from orders.services import phone_digits
from orders.tests.factories import create_order
from tests.concurrency import requires_postgresql
from tracking.models import TrackingEvent

pytestmark = [pytest.mark.django_db, requires_postgresql]


@pytest.fixture
def generated():
    counts = generate(200, seed=7, chunk=60, progress=lambda _line: None)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys, checked now
    return counts


def test_generated_rows_keep_the_constraints_and_every_counter_and_status_rule(generated):
    # then
    problems = coherence_problems()
    assert problems == dict.fromkeys(problems, 0)
    assert generated["orders_order"] == Order.objects.count() == 200
    assert generated["orders_lineitem"] == LineItem.objects.count()
    assert generated["orders_shipment"] == Shipment.objects.count()
    assert generated["orders_shipmentitem"] == ShipmentItem.objects.count()
    assert generated["tracking_trackingevent"] == TrackingEvent.objects.count()
    assert Merchant.objects.count() == 20
    assert 1 <= LineItem.objects.count() / 200 <= 5
    assert 5 <= TrackingEvent.objects.count() / Shipment.objects.count() <= 15


def test_generated_customers_and_tracking_numbers_look_like_the_services_wrote_them(generated):
    # then
    for order in Order.objects.all():
        assert order.customer_email == order.customer_email.lower() != ""
        assert order.customer_phone_digits == phone_digits(order.customer_phone, order.country_code)
        assert order.customer_name_search == name_folded(order.customer_name)
        assert order.customer_name and order.postal_code and order.order_date
    for shipment in Shipment.objects.exclude(carrier="sandbox"):
        assert is_valid_for_carrier(shipment.tracking_number, shipment.carrier), shipment
    big = Order.objects.filter(merchant__merchant_id=BIG_MERCHANT).count()
    assert 0.25 <= big / 200 <= 0.55


def test_a_generated_orders_page_renders_and_new_orders_still_get_fresh_ids(generated, client):
    # given
    shipment = Shipment.objects.select_related("order__merchant").filter(order__isnull=False)[0]
    order = shipment.order
    # when
    response = client.get(f"/orders/{order.merchant.merchant_id}/{order.order_id}")
    created = create_order(order.merchant, "AFTER-GENERATION")
    # then
    assert response.status_code == 200
    assert shipment.tracking_number in response.content.decode()
    assert created.pk > max(Order.objects.exclude(pk=created.pk).values_list("pk", flat=True))
