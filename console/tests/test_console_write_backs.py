"""The order page shows what is written back to the merchant's store: each outbox row with its
connection, status, attempts, last error and next attempt, and a store that is failing."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from merchants.tests.factories import member_of
from notifications.models import Notification
from orders.tests.factories import create_order
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

NEXT_TRY = datetime(2026, 11, 20, 14, 35, tzinfo=UTC)


@pytest.fixture
def magento(merchant):
    return PlatformConnection.objects.create(
        merchant=merchant, name="Fred's Magento", kind="magento", base_url="https://shop.example",
        secret="mg-token-1", consecutive_failures=3, last_error="Magento answered 503 to orders.",
    )  # fmt: skip


@pytest.fixture
def order(merchant, magento):
    link = {"connection": str(magento.public_id), "id": "9"}
    order = create_order(merchant, "000000013", attributes={"platformOrder": link})
    for trigger, status, attempts, error, next_try in (
        ("in_transit", "sent", 1, "", None),
        ("delivered", "pending", 4, "Magento answered 503 to orders/9/comments.", NEXT_TRY),
    ):
        Notification.objects.create(
            merchant=merchant, order=order, channel="platform", recipient=str(magento.public_id),
            trigger=trigger, dedupe_key=f"shipment:1:{trigger}", status=status, attempts=attempts,
            last_error=error, next_attempt_at=next_try,
            provider_message_id="order 9: comment" if status == "sent" else "",
        )  # fmt: skip
    return order


def _write_backs(page: str) -> str:
    return page[page.index('<section id="write-backs">') :].split("</section>")[0]


def test_an_agent_sees_the_write_backs_and_that_the_store_is_down(client, merchant, order):
    # given
    client.force_login(member_of(merchant, "agent"))
    # when
    page = client.get(reverse("console:order", args=[order.pk])).content.decode()
    # then
    section = _write_backs(page)
    assert "Written back to the store <small>2</small>" in section
    assert section.count("Fred&#x27;s Magento <small>Magento 2 / Adobe Commerce</small>") == 2
    assert "Store failing: 3 calls failed in a row: Magento answered 503 to orders." in section
    assert "Magento answered 503 to orders/9/comments." in section
    assert "<td>4</td>\n      <td>Nov 20, 14:35</td>" in section  # attempts, the next one
    assert "order 9: comment" in section
    assert "mg-token-1" not in page
    # and the write-backs are not listed again among the customer's notifications
    assert "Merchant&#x27;s store (written back)" not in page


def test_an_order_not_from_a_store_says_nothing_was_written(client, merchant):
    # given
    order = create_order(merchant, "1001")
    client.force_login(member_of(merchant, "agent"))
    # when
    page = client.get(reverse("console:order", args=[order.pk])).content.decode()
    # then
    assert "Nothing written back: the order did not come from a connected store" in page


def test_another_merchants_agent_gets_a_404(client, other_merchant, order):
    # given
    client.force_login(member_of(other_merchant, "agent"))
    # when
    response = client.get(reverse("console:order", args=[order.pk]))
    # then
    assert response.status_code == 404
