"""Staff and merchant admins inspect the inbound log and replay rejected messages."""

import pytest
from django.urls import reverse

from inbound.models import InboundMessage
from merchants.tests.factories import member_of
from orders.models import Shipment

pytestmark = pytest.mark.django_db

ORDER = {"orderId": "1001", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 1}]}
SHIPMENT = {"trackingNumber": "SBXDELIVERED0001", "carrier": "sandbox",
            "items": [{"itemId": "SKU-2", "quantity": 1}]}  # fmt: skip


@pytest.fixture
def rejected(api):
    api.post("/api/v1/orders", ORDER)
    api.post("/api/v1/orders/1001/shipments", SHIPMENT)
    return InboundMessage.objects.get(outcome="rejected")


def _replay(client, message):
    return client.post(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"action": "replay_selected", "_selected_action": [message.pk]},
        follow=True,
    )


def test_a_merchant_admin_replays_a_rejected_message_after_the_fix(api, client, merchant, rejected):
    # given: the order now has the item the shipment named
    api.post("/api/v1/orders", {**ORDER, "lineItems": [
        *ORDER["lineItems"], {"itemId": "SKU-2", "name": "Lid", "quantity": 1}]})  # fmt: skip
    client.force_login(member_of(merchant, "admin"))
    # when
    page = _replay(client, rejected).content.decode()
    # then
    rejected.refresh_from_db()
    assert f"Message {rejected.pk} accepted." in page
    assert (rejected.outcome, rejected.replay_count) == ("accepted", 1)
    assert Shipment.objects.filter(tracking_number="SBXDELIVERED0001").exists()


def test_a_replay_that_fails_again_says_why(client, merchant, rejected):
    client.force_login(member_of(merchant, "admin"))
    page = _replay(client, rejected).content.decode()
    assert "rejected again: INVALID_SHIPMENT_DATA" in page
    assert not Shipment.objects.exists()


def test_the_log_shows_the_raw_body_and_cannot_be_deleted(client, merchant, rejected):
    client.force_login(member_of(merchant, "admin"))
    detail = client.get(reverse("admin:inbound_inboundmessage_change", args=[rejected.pk]))
    assert "SBXDELIVERED0001" in detail.content.decode()
    delete = client.get(reverse("admin:inbound_inboundmessage_delete", args=[rejected.pk]))
    assert delete.status_code == 403


def test_an_agent_cannot_replay(client, merchant, rejected):
    client.force_login(member_of(merchant, "agent"))
    listing = client.get(reverse("admin:inbound_inboundmessage_changelist")).content.decode()
    assert "replay_selected" not in listing
    _replay(client, rejected)
    rejected.refresh_from_db()
    assert rejected.replay_count == 0


def test_another_merchants_admin_neither_sees_nor_replays_the_message(
    client, other_merchant, rejected
):
    client.force_login(member_of(other_merchant, "admin"))
    listing = client.get(reverse("admin:inbound_inboundmessage_changelist")).content.decode()
    _replay(client, rejected)
    rejected.refresh_from_db()
    assert "SBXDELIVERED0001" not in listing and "/api/v1/orders/1001" not in listing
    assert rejected.replay_count == 0


def test_a_webhook_secret_in_a_stored_answer_is_hidden_in_the_console(
    api, client, merchant, fake_dns
):
    # given: a subscription whose 201 answer (kept for idempotent replays) holds the secret
    fake_dns()
    created = api.post("/api/v1/webhooks", {"url": "https://hooks.example.com/t",
                                            "events": ["tracking.delivered"]})  # fmt: skip
    secret = created.json()["data"]["secret"]
    message = InboundMessage.objects.get(path="/api/v1/webhooks")
    client.force_login(member_of(merchant, "admin"))
    # when
    page = client.get(reverse("admin:inbound_inboundmessage_change", args=[message.pk]))
    # then
    assert secret not in page.content.decode() and "(hidden)" in page.content.decode()


def test_a_queued_message_is_left_to_the_worker(api, client, merchant):
    # given: a message waiting for the worker
    api.post("/api/v1/orders", ORDER, HTTP_PREFER="respond-async")
    queued = InboundMessage.objects.get(outcome="queued")
    client.force_login(member_of(merchant, "admin"))
    # when
    page = _replay(client, queued).content.decode()
    # then: not applied by the console; still the worker's
    assert "1 accepted or queued message(s) skipped" in page
    queued.refresh_from_db()
    assert (queued.outcome, queued.replay_count) == ("queued", 0)


def test_a_bookmark_of_the_log_from_before_the_move_still_opens_the_message(
    client, merchant, rejected
):
    # given: an admin address of the inbound log as it was when the log lived in orders
    client.force_login(member_of(merchant, "admin"))
    old = f"/admin/orders/inboundmessage/{rejected.pk}/change/"
    # when
    page = client.get(old + "?_changelist_filters=outcome%3Drejected", follow=True)
    # then: moved for good, and the message is shown at its new address
    [(address, status)] = page.redirect_chain
    assert status == 301
    assert address == (
        f"/admin/inbound/inboundmessage/{rejected.pk}/change/"
        "?_changelist_filters=outcome%3Drejected"
    )
    assert page.status_code == 200
    assert "INVALID_SHIPMENT_DATA" in page.content.decode()
