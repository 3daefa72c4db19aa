"""Issue 24 item 8: a reload of an unchanged order page is served from the cache, and any change to
what the page shows is on the very next view (pages/page_cache.py)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from carriers.base import CarrierUnavailable
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import EventType, Status
from merchants.tests.factories import BrandingTemplateFactory
from orders.links import tracking_page_token
from orders.models import Order, Shipment
from orders.services import ItemQuantity, items_backorder, order_cancel
from orders.tests.factories import create_order, ship
from tracking.recording import shipments_record_failures
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


def _view(client, merchant, order_id="1001", **params):
    return client.get(f"/orders/{merchant.merchant_id}/{order_id}", params)


def _shipped(merchant) -> Shipment:
    create_order(merchant, "1001")
    return ship(merchant, "1001", "SBXTRANSIT00001", ("MUG", 1)).instance


def _without_slots(html: str) -> str:
    html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "csrf", html)


def test_a_reload_is_served_from_the_cache_with_its_own_nonce_and_form_token(
    merchant, django_assert_max_num_queries
):
    # given a customer who opened their order once
    _shipped(merchant)
    client = Client(enforce_csrf_checks=True)
    first = _view(client, merchant)
    # when they reload
    with django_assert_max_num_queries(2):  # the merchant; the order's and templates' version
        again = _view(client, merchant)
    # then the same page, not built again, with a nonce and a form token of its own
    assert (first["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    html = again.content.decode()
    assert _without_slots(html) == _without_slots(first.content.decode())
    nonce = re.search(r"'nonce-([^']+)'", again["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in html
    assert nonce not in first.content.decode()
    # and its "Check for updates" form posts (CSRF accepted)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    press = client.post(
        f"/orders/{merchant.merchant_id}/1001",
        {"csrfmiddlewaretoken": token, "check_updates": "SBXTRANSIT00001"},
    )
    assert press.status_code == 302


def _carrier_event(shipment: Shipment) -> str:
    event = CarrierEvent(
        occurred_at=NOW - timedelta(minutes=5), status=Status.OUT_FOR_DELIVERY,
        status_detail="out_for_delivery", event_type=EventType.TRANSIT,
        description="Out for delivery", location=Location(city="Provo", state="UT", country="US"),
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="carrier")
    return "Arriving today"


def _backorder(shipment: Shipment) -> str:
    items_backorder(merchant=shipment.merchant, order_id="1001",
                    items=[ItemQuantity("TOWEL", 1, datetime(2027, 1, 4).date())])  # fmt: skip
    return "Backordered"


def _cancel(shipment: Shipment) -> str:
    order_cancel(merchant=shipment.merchant, order_id="1001", items=[ItemQuantity("TOWEL", 1)])
    return "Cancelled"


def _failed_poll(shipment: Shipment) -> str:
    shipments_record_failures(failures=[(shipment, CarrierUnavailable("503"))], now=NOW)
    return "Last checked at"


def _template(shipment: Shipment) -> str:
    BrandingTemplateFactory(merchant=shipment.merchant, primary_color="#123456", is_default=True)
    return "--header-bg:#123456"


def _merchant_renamed(shipment: Shipment) -> str:
    merchant = shipment.merchant
    merchant.name = "Fred's Even Bigger Discount City"
    merchant.save()
    return "Fred&#x27;s Even Bigger Discount City"


@pytest.mark.parametrize(
    "change", [_carrier_event, _backorder, _cancel, _failed_poll, _template, _merchant_renamed]
)
def test_any_change_to_what_the_page_shows_is_on_the_next_view(client, merchant, change):
    # given a page in the cache
    shipment = _shipped(merchant)
    _view(client, merchant)
    before = _view(client, merchant)
    assert before["X-Page-Cache"] == "hit"
    # when
    shown = change(Shipment.objects.select_related("merchant").get(pk=shipment.pk))
    # then the very next view is built again and shows it
    after = _view(client, merchant)
    assert shown not in before.content.decode()
    assert (after["X-Page-Cache"], shown in after.content.decode()) == ("miss", True)


def test_an_older_event_arriving_late_is_on_the_next_view(client, merchant):
    # given a page cached after the carrier's newest news
    shipment = _shipped(merchant)
    _carrier_event(shipment)
    _view(client, merchant)
    assert _view(client, merchant)["X-Page-Cache"] == "hit"
    # when the carrier reports an earlier scan only now: the package's status stays as it was
    late = CarrierEvent(
        occurred_at=NOW - timedelta(days=2), status=Status.IN_TRANSIT, status_detail="picked_up",
        event_type=EventType.TRANSIT, description="Picked up",
        location=Location(city="Abilene", state="TX", country="US"),
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[late], source="carrier")
    # then the next view is built again and lists it
    after = _view(client, merchant)
    assert Shipment.objects.get(pk=shipment.pk).status == Status.OUT_FOR_DELIVERY
    assert (after["X-Page-Cache"], "Abilene" in after.content.decode()) == ("miss", True)


def test_a_template_deleted_is_on_the_next_view(client, merchant):
    # given a page cached in the merchant's own colours
    template = BrandingTemplateFactory(merchant=merchant, primary_color="#123456", is_default=True)
    _shipped(merchant)
    _view(client, merchant)
    assert "--header-bg:#123456" in _view(client, merchant).content.decode()
    # when the merchant deletes the template
    template.delete()
    # then the next view is built again in our own look
    after = _view(client, merchant)
    assert (after["X-Page-Cache"], "#123456" in after.content.decode()) == ("miss", False)


def test_the_privacy_gate_stands_before_the_cache(client, merchant):
    # given a merchant who verifies customers, and the order's page cached for its signed link
    merchant.verify_customer = True
    merchant.save()
    _shipped(merchant)
    token = tracking_page_token(merchant.merchant_id, "1001")
    _view(client, merchant, t=token)
    assert _view(client, merchant, t=token)["X-Page-Cache"] == "hit"
    # when someone opens the link without its signature
    html = _view(client, merchant).content.decode()
    # then the form, not the cached page
    assert 'name="answer"' in html and "SBXTRANSIT00001" not in html


def test_another_merchants_order_of_the_same_number_is_its_own_page(
    client, merchant, other_merchant
):
    _shipped(merchant)
    create_order(other_merchant, "1001")
    _view(client, merchant)
    theirs = _view(client, other_merchant)
    assert theirs["X-Page-Cache"] == "miss"
    assert "SBXTRANSIT00001" not in theirs.content.decode()


def test_a_deleted_order_is_never_served_from_the_cache(client, merchant):
    _shipped(merchant)
    _view(client, merchant)
    Order.objects.filter(merchant=merchant, order_id="1001").delete()
    assert _view(client, merchant).status_code == 404


def test_a_new_day_builds_the_page_again(client, merchant):
    # "Arriving today", and a predicted range that has passed, depend on the merchant's today
    _shipped(merchant)
    _view(client, merchant)
    with time_machine.travel(NOW + timedelta(days=1), tick=True):
        assert _view(client, merchant)["X-Page-Cache"] == "miss"


def test_the_cache_can_be_turned_off(client, merchant, settings):
    settings.PAGE_CACHE_SECONDS = 0
    _shipped(merchant)
    _view(client, merchant)
    assert _view(client, merchant)["X-Page-Cache"] == "miss"
