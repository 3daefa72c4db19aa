"""Issue 21's "done when" for trackers: seed 001's tracker, driven to delivered, tells its delivery
contact once per status the merchant chose, in the merchant's language and branding — through the
API, the poller (sandbox) or the merchant's own events, the real outbox and a local SMTP server."""

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
import time_machine
from django.conf import settings

from merchants.models import DeliveryProvider, PickupLocation
from merchants.services import notification_rules_set
from merchants.tests.factories import BrandingTemplateFactory
from notifications.models import Notification
from notifications.sending import notifications_send_due
from notifications.tests.test_customer_email import body
from notifications.tests.test_customer_sms import TWILIO, twilio  # noqa: F401 - a fixture
from tracking.polling import poll_due_shipments

pytestmark = pytest.mark.django_db

SEED_REQUEST = json.loads(
    (Path(__file__).parents[2] / "ingest/tests/fixtures/seed_001_tracker_request.json").read_text()
)
CONTACT = SEED_REQUEST["deliveryContact"]["email"]
PAGE = f"{settings.PUBLIC_BASE_URL}/trackers/FDC-01-12345/tracker001"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=10)
LOGO = "https://freds.example/logo.png"


@pytest.fixture
def spanish_branded_merchant(merchant, settings):
    """Fred's, in Spanish, with its own colour, emailing on out-for-delivery and delivered only;
    the seed's provider and pickup location configured."""
    settings.SANDBOX_MINUTES_PER_STEP = 10
    merchant.locale = "es"
    merchant.save()
    BrandingTemplateFactory(merchant=merchant, is_default=True, primary_color="#7A1F5C",
                            logo_url=LOGO, logo_alt_text="Fred's logo")  # fmt: skip
    notification_rules_set(merchant=merchant, channel="email",
                           triggers=["out_for_delivery", "delivered"])  # fmt: skip
    DeliveryProvider.objects.create(merchant=merchant, name="Self Delivery")
    PickupLocation.objects.create(merchant=merchant, external_id="Self Delivery Store")
    return merchant


def _at(moment: datetime, action):
    with time_machine.travel(moment, tick=False):
        return action()


def _poll_and_send_at(moment: datetime) -> None:
    _at(moment, lambda: (poll_due_shipments(now=moment), notifications_send_due(now=moment)))


def _sent() -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(channel="email")
        .order_by("created_at", "pk")
        .values_list("trigger", "status")
    )


def test_seed_001s_tracker_on_the_sandbox_emails_its_contact_once_per_chosen_status(
    api, spanish_branded_merchant, inbox
):
    # given: seed 001's tracker, carried by the sandbox carrier
    request = {**SEED_REQUEST, "provider": "sandbox", "trackingId": "SBXDELIVERED0001"}
    assert _at(T0, lambda: api.post("/api/v1/trackers", request)).status_code == 201
    # when: the worker runs every five minutes for two hours (it polls what is due, sends). The
    # poller spaces checks by the sandbox's step ± 10 % (random): seeded, so that two checks are
    # never 15 minutes apart here and the 10-minute out-for-delivery step is always seen.
    random.seed(1)
    for minutes in range(0, 120, 5):
        _poll_and_send_at(T0 + timedelta(minutes=minutes))
    # then: one email per chosen status, to the contact, in Spanish, in the merchant's colours
    assert [(m["To"], m["Subject"].strip()) for m in inbox.messages] == [
        (CONTACT, "Tu pedido tracker001 está en reparto"),
        (CONTACT, "Tu pedido tracker001 ha sido entregado"),
    ]
    assert _sent() == [("out_for_delivery", "sent"), ("delivered", "sent")]
    delivered = inbox.messages[1]
    assert "Hola, Mein Wan:" in body(delivered, "plain") and PAGE in body(delivered, "plain")
    html = body(delivered, "html")
    assert "background-color:#7A1F5C" in html
    assert f'<img src="{LOGO}" alt="Fred&#x27;s logo"' in html
    answer = api.get("/api/v1/trackers/tracker001").json()["data"]
    assert (answer["status"], answer["tracking"]["status"]) == ("DELIVERED", "delivered")


def _report(api, status: str, moment: datetime):
    event = {"timestamp": moment.isoformat(), "status": status, "description": status}
    path = f"/api/v1/tracking/{SEED_REQUEST['trackingId']}/events"
    response = _at(moment, lambda: api.post(path, {"events": [event]}))
    assert response.status_code in (200, 201), response.json()


def test_seed_001s_self_delivery_tracker_is_moved_by_the_merchants_own_events(
    api, spanish_branded_merchant, inbox
):
    # given: seed 001's tracker exactly as sent, a provider we cannot poll
    created = _at(T0, lambda: api.post("/api/v1/trackers", SEED_REQUEST))
    assert (created.status_code, created.json()["data"]["status"]) == (201, "ORDER_DISPATCHED")
    # when: the merchant reports its van's progress, the delivery twice
    for step, status in enumerate(["in_transit", "out_for_delivery", "delivered", "delivered"]):
        _report(api, status, T0 + step * STEP)
        _at(T0 + step * STEP, notifications_send_due)
    # then: the contact hears of each chosen status once, in Spanish, with the tracker's page
    assert [(m["To"], m["Subject"].strip()) for m in inbox.messages] == [
        (CONTACT, "Tu pedido tracker001 está en reparto"),
        (CONTACT, "Tu pedido tracker001 ha sido entregado"),
    ]
    assert PAGE in body(inbox.messages[1], "plain")
    answer = api.get("/api/v1/trackers/tracker001").json()["data"]
    assert answer["status"] == "DELIVERED"


@responses.activate
@pytest.mark.usefixtures("twilio")
def test_seed_001s_tracker_texts_its_contact_when_the_merchant_texts(api, spanish_branded_merchant):
    # given: the merchant texts on delivered only, and emails nobody
    responses.post(TWILIO, status=201, json={"sid": "SM1", "status": "queued"})
    spanish_branded_merchant.sms_notifications_enabled = True
    spanish_branded_merchant.email_notifications_enabled = False
    spanish_branded_merchant.save()
    notification_rules_set(merchant=spanish_branded_merchant, channel="sms", triggers=["delivered"])
    contact = {**SEED_REQUEST["deliveryContact"], "phone": "+15125550100"}  # the seed's: no line
    _at(T0, lambda: api.post("/api/v1/trackers", {**SEED_REQUEST, "deliveryContact": contact}))
    # when
    _report(api, "out_for_delivery", T0)
    _report(api, "delivered", T0 + STEP)
    _at(T0 + STEP, notifications_send_due)
    # then: one text, to the contact's phone, with the tracker's page
    texts = Notification.objects.filter(channel="sms")
    assert list(texts.values_list("trigger", "recipient", "status")) == [
        ("delivered", "+15125550100", "sent")
    ]
    forms = [parse_qs(call.request.body) for call in responses.calls if call.request.url == TWILIO]
    assert forms and all(form["To"] == ["+15125550100"] for form in forms)
    assert PAGE in forms[0]["Body"][0]
    assert not Notification.objects.filter(channel="email").exists()
