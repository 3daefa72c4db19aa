"""Predicted delivery when the carrier gives none: a range from our delivered history on the same
lane, with the deliveries behind it — in the API, on the page and in emails, labelled as ours —
and never when the history is thin, the carrier gives a date, or the package is done or stuck."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tracking.models import TransitLane
from tracking.predictions import predictions_refresh

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday
LANE = {"carrier": "usps", "service": "Priority Mail", "origin_state": "TX",
        "origin_country": "US", "destination_state": "UT", "destination_country": "US"}  # fmt: skip


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _history(merchant, transit_days: list[int], **lane) -> None:
    """Past deliveries on the lane, one per entry, each taking that many days."""
    rows, first = [], Shipment.objects.count()
    for n, days in enumerate(transit_days, start=first):
        shipped = NOW - timedelta(days=30 + n % 20)
        rows.append(Shipment(
            merchant=merchant, tracking_number=f"9400100000000000{n:06d}", status="delivered",
            shipped_at=shipped, delivered_at=shipped + timedelta(days=days, hours=3),
            **{**LANE, **lane},
        ))  # fmt: skip
    Shipment.objects.bulk_create(rows)


def _open_shipment(merchant, order_id="1001", **fields) -> Shipment:
    create_order(merchant, order_id)
    shipment = ship(merchant, order_id, f"SBXDELIVERED{order_id}", ("MUG", 2), ("TOWEL", 1))
    Shipment.objects.filter(pk=shipment.instance.pk).update(
        **{**LANE, "status": "in_transit", "shipped_at": NOW - timedelta(hours=2),
           "estimated_delivery_date": None, **fields}
    )  # fmt: skip
    return Shipment.objects.get(pk=shipment.instance.pk)


def test_the_api_predicts_a_range_from_the_lanes_deliveries(api, merchant):
    # given 30 deliveries TX → UT by USPS Priority taking 2 to 5 days, and one on its way
    _history(merchant, [2] * 3 + [3] * 12 + [4] * 12 + [5] * 3)
    _open_shipment(merchant)
    # when
    assert predictions_refresh(now=NOW) == 1
    answer = api.get("/api/v1/orders/1001").json()["data"]
    # then: the 10th to the 90th percentile after it shipped, and what it rests on
    assert answer["shipments"][0]["estimatedDelivery"] is None
    assert answer["shipments"][0]["predictedDelivery"] == {
        "earliest": "2026-12-10", "latest": "2026-12-12",
        "basis": {"deliveries": 30, "origin": "TX, US", "destination": "UT, US"},
    }  # fmt: skip
    lane = TransitLane.objects.get()
    assert (lane.deliveries, lane.earliest_days, lane.latest_days) == (30, 3, 5)


def test_the_page_and_the_email_label_it_as_our_estimate(client, merchant):
    # given a customer who saw the page before the range was set (it is cached)
    _history(merchant, [3] * 25)
    _open_shipment(merchant)
    before = client.get(f"/orders/{merchant.merchant_id}/1001").content.decode()
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):  # the clock stands still
        predictions_refresh(now=NOW)
    # when
    html = client.get(f"/orders/{merchant.merchant_id}/1001").content.decode()
    assert "Our estimate" not in before
    # then
    assert "Expected between Dec. 10, 2026 and Dec. 10, 2026" in html
    assert "Our estimate, from 25 past deliveries on this route." in html
    assert '<p class="headline moving">Expected Thursday, December 10 – Thursday, December 10' in (
        html
    )


def test_a_thin_history_predicts_nothing(api, merchant, settings):
    settings.PREDICTION_MIN_DELIVERIES = 20
    _history(merchant, [3] * 19)
    _open_shipment(merchant)
    predictions_refresh(now=NOW)
    assert TransitLane.objects.count() == 0
    assert (
        api.get("/api/v1/orders/1001").json()["data"]["shipments"][0]["predictedDelivery"] is None
    )


def test_another_lane_or_service_predicts_nothing(api, merchant):
    _history(merchant, [3] * 25, destination_state="CA")
    _history(merchant, [3] * 25, service="Ground Advantage")
    _open_shipment(merchant)
    predictions_refresh(now=NOW)
    assert (
        api.get("/api/v1/orders/1001").json()["data"]["shipments"][0]["predictedDelivery"] is None
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"estimated_delivery_date": datetime(2026, 12, 9).date()},  # the carrier's date wins
        {"status": "exception"},
        {"status": "delivered"},
        {"status": "return_to_sender"},
    ],
)
def test_no_prediction_beside_a_carrier_date_or_for_a_package_done_or_in_trouble(
    api, merchant, fields
):
    _history(merchant, [3] * 25)
    shipment = _open_shipment(merchant)
    predictions_refresh(now=NOW)
    Shipment.objects.filter(pk=shipment.pk).update(**fields)
    assert (
        api.get("/api/v1/orders/1001").json()["data"]["shipments"][0]["predictedDelivery"] is None
    )


def test_a_range_already_past_is_not_shown(api, merchant):
    _history(merchant, [3] * 25)
    _open_shipment(merchant)
    predictions_refresh(now=NOW)
    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        answer = api.get("/api/v1/orders/1001").json()["data"]
    assert answer["shipments"][0]["predictedDelivery"] is None


def test_the_email_gives_the_range_as_our_estimate(merchant):
    from notifications.messages import MessageContext, render_email_for
    from orders.representation import shipment_json

    _history(merchant, [3] * 25)
    shipment = _open_shipment(merchant)
    predictions_refresh(now=NOW)
    tracking = shipment_json(Shipment.objects.get(pk=shipment.pk), tracked=set())
    context = MessageContext(merchant=merchant, trigger="in_transit", language="en",
                             order_id="1001", tracking=tracking)  # fmt: skip
    _subject, text, _html = render_email_for(context, None)
    assert "Dec. 10, 2026 to Dec. 10, 2026 (our estimate)" in text
