"""Track any number (API.md, seed 003): GET /tracking/{n} for a number never sent follows it."""

import json
import re
import threading
import time
from pathlib import Path

import pytest
import responses
from django.test import Client

from merchants.services import api_key_issue
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tests.concurrency import requires_postgresql, run_at_once
from tracking.models import CarrierAccount
from tracking.on_demand import ASK_SECONDS

pytestmark = pytest.mark.django_db

NEVER_SENT = "SBXDELIVERED0042"
UPS_NUMBER = "1Z5R89390357567127"
UPS_BASE = "https://ups.example.test"
UPS_FIXTURES = Path(__file__).resolve().parents[2] / "carriers" / "tests" / "fixtures" / "ups"


def test_a_number_never_sent_is_followed_and_asked_again_is_the_same(api, merchant):
    # when
    first = api.get(f"/api/v1/tracking/{NEVER_SENT}")
    again = api.get(f"/api/v1/tracking/{NEVER_SENT.lower()}")
    # then: the carrier was asked at once, and there is one shipment, with no order
    data = first.json()["data"]
    assert first.status_code == 200
    assert (data["carrier"], data["status"], data["orderId"]) == ("sandbox", "pre_transit", None)
    assert data["events"] and first.json()["warnings"] == []
    assert again.json()["data"]["shipmentId"] == data["shipmentId"]
    shipment = Shipment.objects.get(merchant=merchant)
    assert (shipment.order_id, shipment.tracking_number) == (None, NEVER_SENT)
    assert shipment.next_check_at is not None  # the poller follows it from now on


def test_a_number_no_carrier_uses_stays_not_found(api):
    response = api.get("/api/v1/tracking/NOT-A-NUMBER-1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TRACKING_NOT_FOUND"
    assert response.json()["error"]["details"] == {"trackingNumber": "NOTANUMBER1"}
    assert not Shipment.objects.exists()


def test_a_number_several_carriers_use_names_the_candidates(api):
    # when: a FedEx Express number whose digits also pass DHL Paket's check
    response = api.get("/api/v1/tracking/399368623212")
    # then
    error = response.json()["error"]
    assert response.status_code == 422
    assert error["details"]["candidates"] == ["fedex", "dhl"]
    assert "carrier" in error["fields"]
    assert not Shipment.objects.exists()


def test_a_carrier_we_cannot_poll_for_the_merchant_is_not_followed(api):
    response = api.get(f"/api/v1/tracking/{UPS_NUMBER}")
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"trackingNumber": UPS_NUMBER, "provider": "UPS"}


def test_another_merchants_shipment_is_never_shown_the_number_is_followed_anew(
    api, other_api, merchant
):
    # given: the merchant ships the number on an order
    create_order(merchant, "1001")
    ship(merchant, "1001", NEVER_SENT, ("MUG", 1))
    mine = api.get(f"/api/v1/tracking/{NEVER_SENT}").json()["data"]
    # when
    theirs = other_api.get(f"/api/v1/tracking/{NEVER_SENT}").json()["data"]
    # then
    assert theirs["orderId"] is None and mine["orderId"] == "1001"
    assert theirs["shipmentId"] != mine["shipmentId"]
    assert Shipment.objects.count() == 2


@pytest.fixture
def ups_account(merchant, fake_dns):
    fake_dns()
    return CarrierAccount.objects.create(
        merchant=merchant, carrier="ups", client_id="id", secret="s", base_url=UPS_BASE
    )


def _ups_token():
    responses.post(
        f"{UPS_BASE}/security/v1/oauth/token", json={"access_token": "t", "expires_in": 3600}
    )


@responses.activate
def test_a_carrier_with_nothing_yet_answers_unknown_with_a_pending_warning(api, ups_account):
    # given: UPS knows nothing of the number yet
    _ups_token()
    not_found = json.loads((UPS_FIXTURES / "warning_not_found.json").read_text())
    responses.get(url=re.compile(f"{UPS_BASE}/api/track/.*"), json=not_found)
    # when
    response = api.get(f"/api/v1/tracking/{UPS_NUMBER}")
    # then
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "unknown"
    assert [w["code"] for w in response.json()["warnings"]] == ["TRACKING_PENDING"]
    assert Shipment.objects.get().carrier == "ups"


@responses.activate
def test_in_the_seed_002_style_the_pending_warning_is_tracking_not_available(api, ups_account):
    _ups_token()
    not_found = json.loads((UPS_FIXTURES / "warning_not_found.json").read_text())
    responses.get(url=re.compile(f"{UPS_BASE}/api/track/.*"), json=not_found)
    # when
    response = api.get(f"/api/v1/tracking/{UPS_NUMBER}", HTTP_FLEXTRACKER_STYLE="tracking-api")
    # then
    assert (response.status_code, response.json()["data"]["status"]) == (200, "LABEL_CREATED")
    assert [w["code"] for w in response.json()["warnings"]] == ["TRACKING_NOT_AVAILABLE"]


@responses.activate
def test_a_slow_carrier_is_waited_for_a_few_seconds_only(api, ups_account):
    # given: UPS answers only when the test lets it (past the lookup's bound)
    _ups_token()
    released, answered = threading.Event(), threading.Event()

    def slow(request):
        released.wait(timeout=30)
        answered.set()
        return 503, {}, ""

    responses.add_callback(responses.GET, re.compile(f"{UPS_BASE}/api/track/.*"), callback=slow)
    # when
    started = time.monotonic()
    response = api.get(f"/api/v1/tracking/{UPS_NUMBER}")
    took = time.monotonic() - started
    # then: answered within the bound, pending; the poller asks again when the lease ends
    released.set()  # the late call ends inside this test, so no other test's mock records it
    assert answered.wait(timeout=10)
    assert ASK_SECONDS <= took < ASK_SECONDS + 2
    assert response.json()["data"]["status"] == "unknown"
    assert [w["code"] for w in response.json()["warnings"]] == ["TRACKING_PENDING"]
    _until(lambda: len(responses.calls) == 2)  # the token, then the late track call


def _until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_many_asking_at_once_make_one_shipment(merchant):
    # given
    _key, raw = api_key_issue(merchant=merchant, name="oms")

    def ask():
        return (
            Client()
            .get(f"/api/v1/tracking/{NEVER_SENT}", HTTP_AUTHORIZATION=f"Bearer {raw}")
            .json()["data"]["shipmentId"]
        )

    # when
    answers = run_at_once(5, ask)
    # then
    assert len(set(answers)) == 1
    assert Shipment.objects.filter(tracking_number=NEVER_SENT).count() == 1
