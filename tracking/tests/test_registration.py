"""Registering new shipments with the aggregator their carrier is routed through, over HTTP
(`responses` at the boundary, bodies shaped like ../shared/samples/aggregators/), and polling
slowly what an aggregator pushes.
"""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from django.urls import reverse

from carriers.base import TrackingResult
from carriers.events import CarrierEvent
from merchants.tests.factories import member_of
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tracking.models import AggregatorRegistration, AggregatorRoute
from tracking.recording import shipments_record_results
from tracking.registration import registrations_run

FIXTURES = Path(__file__).parent / "fixtures" / "aggregators"
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
SHIPPO_URL = "https://api.goshippo.com/tracks/"
EASYPOST_URL = "https://api.easypost.com/v2/trackers"
PLATFORM_KEY = "shippo_live_platform_key_123"
NUMBER = "9205590164917337534322"  # the recorded create's number


def _sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def platform_routes(settings):
    settings.AGGREGATOR_ROUTES = {"usps": "shippo"}
    settings.AGGREGATOR_API_KEYS = {"easypost": "", "aftership": "", "shippo": PLATFORM_KEY}


def _shipment(merchant, number: str = NUMBER, carrier: str = "usps", order_id="1001") -> Shipment:
    create_order(merchant, order_id)
    shipment = ship(merchant, order_id, number, ("MUG", 2), carrier=carrier).instance
    Shipment.objects.filter(pk=shipment.pk).update(created_at=T0, next_check_at=T0)
    return shipment


def test_a_new_shipment_is_registered_once_retried_after_a_503_and_a_timeout(
    merchant, platform_routes, caplog
):
    # given
    caplog.set_level(logging.INFO)
    shipment = _shipment(merchant)
    assert shipment.carrier == "usps"
    created = _sample("shippo_track_create_response_recorded_2016.json")
    with responses.RequestsMock() as mock:
        mock.post(SHIPPO_URL, status=503, json={"detail": "busy"})
        mock.post(SHIPPO_URL, body=requests.exceptions.ConnectTimeout())
        mock.post(SHIPPO_URL, status=201, json=created)
        # when: three rounds, each when the row is due again
        first = registrations_run(now=T0)
        too_soon = registrations_run(now=T0 + timedelta(seconds=30))
        registration = AggregatorRegistration.objects.get()
        second = registrations_run(now=registration.next_attempt_at)
        registration.refresh_from_db()
        third = registrations_run(now=registration.next_attempt_at)
        done = registrations_run(now=T0 + timedelta(days=1))
        # then
        assert (first, too_soon, second, third, done) == (1, 0, 1, 1, 0)
        assert len(mock.calls) == 3
        request = mock.calls[2].request
        assert request.headers["Authorization"] == f"ShippoToken {PLATFORM_KEY}"
        assert json.loads(request.body) == {"carrier": "usps", "tracking_number": NUMBER}
    registration.refresh_from_db()
    assert (registration.aggregator, registration.account, registration.state) == (
        "shippo", "platform", "registered",
    )  # fmt: skip
    assert (registration.attempts, registration.external_id, registration.last_error) == (
        3, NUMBER, "",
    )  # fmt: skip
    assert [(entry["outcome"], entry["detail"]) for entry in registration.history] == [
        ("retry", "shippo: HTTP 503"), ("retry", "shippo: ConnectTimeout"),
        ("registered", NUMBER),
    ]  # fmt: skip
    assert PLATFORM_KEY not in caplog.text
    assert PLATFORM_KEY not in json.dumps(registration.history)


def test_a_refusal_is_given_up_at_once_with_the_reason_visible(
    client, staff_client, merchant, platform_routes
):
    # given
    shipment = _shipment(merchant)
    refusal = _sample("shippo_track_create_invalid_carrier_400_recorded.json")
    with responses.RequestsMock() as mock:
        mock.post(SHIPPO_URL, status=400, json=refusal)
        # when
        registrations_run(now=T0)
        again = registrations_run(now=T0 + timedelta(days=1))
        # then
        assert (len(mock.calls), again) == (1, 0)
    registration = AggregatorRegistration.objects.get()
    reason = (
        "shippo: HTTP 400, carrier: Invalid value specified for provider "
        "'EXAMPLE_OF_INVALID_CARRIER'"
    )
    assert (registration.state, registration.next_attempt_at, registration.last_error) == (
        "refused", None, reason,
    )  # fmt: skip
    page = staff_client.get(reverse("admin:orders_shipment_change", args=[shipment.pk]))
    assert "Shippo refused the registration (shippo: HTTP 400, carrier: Invalid value" in (
        page.content.decode()
    )
    shipment.refresh_from_db()
    assert shipment.next_check_at == T0  # still polled as before


def test_a_refused_key_says_so_without_showing_it(merchant, platform_routes):
    # given
    _shipment(merchant)
    with responses.RequestsMock() as mock:
        mock.post(SHIPPO_URL, status=401, json={"detail": f"Invalid token {PLATFORM_KEY}"})
        # when
        registrations_run(now=T0)
    # then
    registration = AggregatorRegistration.objects.get()
    assert (registration.state, registration.last_error) == (
        "refused", "shippo: HTTP 401, the API key was refused",
    )  # fmt: skip


def test_a_merchants_own_route_uses_their_key_and_no_one_elses(merchant, other_merchant, settings):
    # given: the merchant routes USPS through their EasyPost account; the platform routes nothing
    settings.AGGREGATOR_ROUTES = {}
    AggregatorRoute.objects.create(
        merchant=merchant, carrier="usps", aggregator="easypost", api_key="EZAK_merchant_a"
    )
    mine = _shipment(merchant)
    theirs = _shipment(other_merchant, order_id="2001")
    fedex = _shipment(merchant, "794600000000", carrier="fedex", order_id="1002")
    with responses.RequestsMock() as mock:
        mock.post(EASYPOST_URL, status=201, json=_sample("easypost_tracker_create_response.json"))
        # when
        registrations_run(now=T0)
        # then: one call, as the merchant's account, for the merchant's USPS shipment only
        assert len(mock.calls) == 1
        request = mock.calls[0].request
        assert request.headers["Authorization"] == "Basic RVpBS19tZXJjaGFudF9hOg=="  # key + ":"
        assert json.loads(request.body) == {"tracker": {"tracking_code": NUMBER, "carrier": "USPS"}}
    registration = AggregatorRegistration.objects.get()
    assert (registration.shipment_id, registration.state, registration.external_id) == (
        mine.pk, "registered", "trk_9135862729734d96ad2f9ed0f0565a27",
    )  # fmt: skip
    assert not AggregatorRegistration.objects.filter(shipment__in=[theirs, fedex]).exists()


def test_a_route_that_names_another_merchants_account_is_never_used(
    merchant, other_merchant, settings
):
    # given: a row pointing at the other merchant's route (as if tampered with)
    settings.AGGREGATOR_ROUTES = {}
    their_route = AggregatorRoute.objects.create(
        merchant=other_merchant, carrier="usps", aggregator="shippo", api_key="their_key"
    )
    shipment = _shipment(merchant)
    AggregatorRegistration.objects.create(
        shipment=shipment, aggregator="shippo", account=f"route:{their_route.pk}",
        next_attempt_at=T0,
    )  # fmt: skip
    with responses.RequestsMock() as mock:
        # when
        registrations_run(now=T0)
        # then: no call at all
        assert len(mock.calls) == 0
    registration = AggregatorRegistration.objects.get()
    assert (registration.state, registration.last_error) == (
        "refused", "No active aggregator account for this shipment.",
    )  # fmt: skip


def test_a_registered_shipment_is_polled_slowly_and_the_others_as_before(merchant, platform_routes):
    # given: two USPS shipments, one registered with Shippo
    pushed = _shipment(merchant)
    polled = _shipment(merchant, "9400100000000000000000", order_id="1002")
    with responses.RequestsMock() as mock:
        mock.post(
            SHIPPO_URL, status=201, json=_sample("shippo_track_create_response_recorded_2016.json")
        )
        registrations_run(now=T0)
    AggregatorRegistration.objects.filter(shipment=polled).delete()  # as if never routed
    pushed.refresh_from_db()
    assert pushed.next_check_at >= T0 + timedelta(hours=5, minutes=24)  # 6 h, jittered
    scan = CarrierEvent(
        occurred_at=T0, status="in_transit", status_detail="in_transit", event_type="TRANSIT",
        description="Arrived at USPS facility",
    )  # fmt: skip
    # when: the safety check polls both, in one round
    results = [(s.pk, TrackingResult(s.tracking_number, events=(scan,))) for s in (pushed, polled)]
    shipments_record_results(results=results, now=T0 + timedelta(hours=6))
    # then: USPS in transit is 2 h ± 10 % when polled, 6 h ± 10 % when pushed
    pushed.refresh_from_db()
    polled.refresh_from_db()
    polled_in = polled.next_check_at - (T0 + timedelta(hours=6))
    pushed_in = pushed.next_check_at - (T0 + timedelta(hours=6))
    assert timedelta(hours=1, minutes=48) <= polled_in <= timedelta(hours=2, minutes=12)
    assert timedelta(hours=5, minutes=24) <= pushed_in <= timedelta(hours=6, minutes=36)


def test_old_finished_or_unrouted_shipments_are_not_registered(merchant, platform_routes):
    # given
    old = _shipment(merchant)
    Shipment.objects.filter(pk=old.pk).update(created_at=T0 - timedelta(days=8))
    delivered = _shipment(merchant, "9400100000000000000001", order_id="1002")
    Shipment.objects.filter(pk=delivered.pk).update(status="delivered")
    _shipment(merchant, "1Z999AA10123456784", carrier="ups", order_id="1003")
    with responses.RequestsMock() as mock:
        # when
        attempts = registrations_run(now=T0)
        # then
        assert (attempts, len(mock.calls)) == (0, 0)
    assert AggregatorRegistration.objects.count() == 0


def test_the_shipment_page_shows_the_registration_and_the_last_push(
    client, merchant, platform_routes, settings
):
    # given: registered with Shippo, then a signed Shippo push about it
    settings.SHIPPO_WEBHOOK_SECRET = "whsec"
    shipment = _shipment(merchant)
    with responses.RequestsMock() as mock:
        mock.post(
            SHIPPO_URL, status=201, json=_sample("shippo_track_create_response_recorded_2016.json")
        )
        registrations_run(now=T0)
    body = json.dumps({"event": "track_updated", "data": _sample(
        "shippo_track_create_response_recorded_2016.json")}).encode()  # fmt: skip
    at = int(datetime.now(UTC).timestamp())
    digest = hmac.new(b"whsec", f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    pushed = client.post(reverse("push-shippo"), body, content_type="application/json",
                         HTTP_SHIPPO_AUTH_SIGNATURE=f"t={at},v1={digest}")  # fmt: skip
    assert pushed.json()["data"]["updated"] == 1
    registration = AggregatorRegistration.objects.get()
    assert registration.last_push_at is not None
    # when: the merchant's agent opens the shipment
    client.force_login(member_of(merchant, "agent"))
    page = client.get(reverse("admin:orders_shipment_change", args=[shipment.pk]))
    # then
    text = page.content.decode()
    assert (
        "Registered with Shippo at 2026-11-20 12:00 UTC; polled every few hours as a check" in text
    )
    assert f"last push at {registration.last_push_at:%Y-%m-%d %H:%M} UTC" in text


def test_an_unregistered_shipment_says_it_is_polled(staff_client, merchant):
    # given
    shipment = _shipment(merchant)
    # when
    page = staff_client.get(reverse("admin:orders_shipment_change", args=[shipment.pk]))
    # then
    assert "Polled from the carrier" in page.content.decode()


def test_a_route_is_its_merchants_alone_and_its_key_never_shown(client, merchant, other_merchant):
    # given
    route = AggregatorRoute.objects.create(
        merchant=merchant, carrier="usps", aggregator="shippo", api_key="shippo_live_secret_a"
    )
    change = reverse("admin:tracking_aggregatorroute_change", args=[route.pk])
    # when
    client.force_login(member_of(merchant, "admin"))
    own = client.get(change)
    client.force_login(member_of(other_merchant, "admin"))
    other = client.get(change, follow=True)
    other_list = client.get(reverse("admin:tracking_aggregatorroute_changelist"))
    # then
    assert own.status_code == 200
    assert "shippo_live_secret_a" not in own.content.decode()
    assert "shippo_live_secret_a" not in other.content.decode()
    assert str(merchant.merchant_id) not in other_list.content.decode()
    assert other.redirect_chain[-1][0] == reverse("admin:index")  # "does not exist" → index
