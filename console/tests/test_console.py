"""The customer-service console as agents use it: search, the order's story, the actions and their
audit log — and one merchant's agents never reaching another merchant's orders."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inbound.models import InboundMessage
from merchants.tests.factories import member_of
from notifications.models import Notification, NotificationAttempt
from orders.models import AuditEntry, OrderNote
from orders.tests.factories import create_order, ship
from tracking.models import TrackingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(merchant):
    order = create_order(merchant, "FDC-1001", customer_name="Jane Doe",
                         customer_email="jane@example.com")  # fmt: skip
    ship(merchant, "FDC-1001", "SBXDELIVERED1", ("MUG", 1))
    return order


@pytest.fixture
def sent_email(order):
    notification = Notification.objects.create(
        merchant=order.merchant, order=order, channel="email", recipient="jane@example.com",
        trigger="shipped", dedupe_key="shipment:1:shipped", status="failed",
        last_error="550 mailbox unavailable", attempts=3,
    )  # fmt: skip
    NotificationAttempt.objects.create(notification=notification, succeeded=False, error="550")
    return notification


@pytest.fixture
def agent(client, merchant):
    client.force_login(member_of(merchant, "agent"))
    return client


@pytest.fixture
def other_agent(client, other_merchant):
    client.force_login(member_of(other_merchant, "agent"))
    return client


def _page(client, order) -> str:
    response = client.get(reverse("console:order", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- Search -------------------------------------------------------------------------------------


def test_an_agent_searches_a_tracking_number_with_spaces_and_finds_the_order(agent, order):
    response = agent.get(reverse("console:search"), {"q": "sbx delivered1"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "FDC-1001" in page and "Jane Doe" in page
    assert reverse("console:order", args=[order.pk]) in page


def test_a_single_hit_can_open_the_order_straight_away(agent, order):
    response = agent.get(reverse("console:search"), {"q": "FDC-1001", "go": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("console:order", args=[order.pk])


def test_a_search_with_no_match_says_so(agent, order):
    page = agent.get(reverse("console:search"), {"q": "nobody@nowhere.example"}).content.decode()

    assert "Nothing matches" in page


def test_the_console_speaks_the_agents_language_and_only_on_their_pages(agent, order):
    search = {"q": "nobody@nowhere.example"}
    # when: an agent whose browser asks for French searches, then the same thread serves a
    # browser that names no language, and the API
    french = agent.get(reverse("console:search"), search, HTTP_ACCEPT_LANGUAGE="fr")
    default = agent.get(reverse("console:search"), search)
    api = agent.get("/api/v1/orders/FDC-1001", HTTP_ACCEPT_LANGUAGE="fr")
    # then
    assert 'lang="fr"' in french.content.decode() and french["Content-Language"] == "fr"
    assert "Aucun résultat pour « nobody@nowhere.example »." in french.content.decode()
    assert "Nothing matches “nobody@nowhere.example”." in default.content.decode()
    assert "Content-Language" not in api  # API.md's messages are English whatever is asked


def test_search_as_you_type_answers_only_the_results(agent, order):
    response = agent.get(reverse("console:search"), {"q": "jane doe", "partial": "1"})

    page = response.content.decode()
    assert "FDC-1001" in page
    assert "<html" not in page


@pytest.mark.parametrize("query", ["maria lopez", "1002", "06 12 34 56 78"])
def test_an_agent_finds_an_order_by_an_accent_free_name_a_partial_number_or_a_national_phone(
    agent, merchant, other_merchant, query
):
    # given: María's order, and the same customer at another merchant
    for shop, order_id in ((merchant, "FDC-1002"), (other_merchant, "OTH-1002")):
        create_order(shop, order_id, customer_name="María López",
                     customer_phone="+33 6 12 34 56 78",
                     shipping_address={"country_code": "FR"})  # fmt: skip
    create_order(merchant, "FDC-2001", customer_name="Mario Lopes",
                 customer_phone="+1 512 555 0100")  # fmt: skip
    # when
    page = agent.get(reverse("console:search"), {"q": query}).content.decode()
    # then
    assert "1 order matches" in page
    assert "FDC-1002" in page and "María López" in page
    assert "FDC-2001" not in page and "OTH-1002" not in page


def test_search_results_show_each_orders_time_in_its_merchants_zone(client, staff, merchant,
                                                                    other_merchant):  # fmt: skip
    # given: two merchants in two zones, an order placed at 13:05 UTC at each
    merchant.time_zone, other_merchant.time_zone = "Europe/Paris", "America/Chicago"
    merchant.save()
    other_merchant.save()
    for shop, order_id in ((merchant, "FDC-1"), (other_merchant, "OTH-1")):
        create_order(shop, order_id, customer_name="Jane Doe",
                     order_date=datetime(2026, 11, 20, 13, 5, tzinfo=UTC))  # fmt: skip
    client.force_login(staff)
    # when
    page = client.get(reverse("console:search"), {"q": "Jane Doe"}).content.decode()
    # then: each row in its merchant's local time, with the zone named
    assert 'title="Europe/Paris">Nov 20, 2026 14:05 <small class="zone">CET</small>' in page
    assert 'title="America/Chicago">Nov 20, 2026 07:05 <small class="zone">CST</small>' in page


# --- The order's story ----------------------------------------------------------------------------


def test_the_order_page_tells_the_whole_story(agent, merchant, order, sent_email):
    TrackingEvent.objects.create(
        shipment=order.shipments.get(), occurred_at="2026-11-20T10:00:00Z", status="in_transit",
        status_detail="arrived_at_facility", event_type="TRANSIT", city="Dallas",
        description="Arrived at facility", source="carrier", dedupe_key="e1",
    )  # fmt: skip
    InboundMessage.objects.create(
        merchant=merchant, channel="api", method="POST", path="/api/v1/orders", body=b"{}",
        order_ref="FDC-1001", outcome="rejected", error_code="INVALID_ORDER_DATA",
    )  # fmt: skip
    OrderNote.objects.create(order=order, author_name="sam", text="Customer called twice.")

    page = _page(agent, order)

    assert "Blue mug" in page  # items with their quantities by state
    assert "SBXDELIVERED1" in page and "Arrived at facility" in page and "Dallas" in page
    assert "550 mailbox unavailable" in page  # a failed notification and why
    assert "INVALID_ORDER_DATA" in page  # the OMS message that was rejected
    assert "Customer called twice." in page


def test_the_order_page_shows_times_in_the_merchants_zone_and_names_it(agent, merchant, order,
                                                                       sent_email):  # fmt: skip
    # given: a Paris merchant; a scan, a message and a note at 10:00 UTC (11:00 in Paris)
    merchant.time_zone = "Europe/Paris"
    merchant.save()
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    TrackingEvent.objects.create(
        shipment=order.shipments.get(), occurred_at=at, status="in_transit",
        status_detail="arrived_at_facility", event_type="TRANSIT", description="Arrived",
        source="carrier", dedupe_key="e1",
    )  # fmt: skip
    Notification.objects.filter(pk=sent_email.pk).update(created_at=at)
    note = OrderNote.objects.create(order=order, author_name="sam", text="Called.")
    OrderNote.objects.filter(pk=note.pk).update(created_at=at)
    # when
    page = _page(agent, order)
    # then
    assert "Times in Europe/Paris" in page
    assert '<time datetime="2026-11-20T11:00:00+01:00">Nov 20, 11:00</time>' in page
    assert "<td>Nov 20, 11:00</td><td>Customer email</td>" in page
    assert "<small>sam · Nov 20, 2026 11:00</small>" in page
    assert "Nov 20, 10:00" not in page and "Nov 20, 2026 10:00" not in page


def test_the_order_page_makes_the_same_queries_for_1_or_8_shipments(
    agent, merchant, order, sent_email, django_assert_max_num_queries
):
    _page(agent, order)  # warm the session and the content types
    with django_assert_max_num_queries(16) as one:
        _page(agent, order)
    big = create_order(merchant, "FDC-2002")
    for n in range(8):
        shipment = ship(
            merchant, "FDC-2002", f"SBXINTRANSIT{n}", *([("MUG", 1)] if n < 2 else [])
        ).instance
        TrackingEvent.objects.create(
            shipment=shipment, occurred_at="2026-11-20T10:00:00Z", status="in_transit",
            status_detail="in_transit", event_type="TRANSIT", source="carrier", dedupe_key="e",
        )  # fmt: skip
    with django_assert_max_num_queries(len(one.captured_queries)):
        _page(agent, big)


# --- Actions, and their audit log ---------------------------------------------------------------


def _audit(order) -> list[tuple[str, str]]:
    return [(entry.user_name, entry.action) for entry in AuditEntry.objects.filter(order=order)]


def test_refresh_now_asks_the_carrier_and_is_audited(agent, order):
    response = agent.post(reverse("console:refresh", args=[order.pk]), follow=True)

    assert "SBXDELIVERED1: Label created" in response.content.decode()
    assert TrackingEvent.objects.filter(shipment__order=order).exists()
    assert [action for _user, action in _audit(order)] == ["refresh_tracking"]


def test_resend_queues_a_copy_and_is_audited(agent, order, sent_email):
    agent.post(reverse("console:resend", args=[order.pk, sent_email.pk]))

    copy = Notification.objects.exclude(pk=sent_email.pk).get()
    assert (copy.recipient, copy.trigger, copy.status) == ("jane@example.com", "shipped", "pending")
    assert [action for _user, action in _audit(order)] == ["resend_notification"]


def test_a_note_is_kept_with_its_author_and_audited(agent, order):
    agent.post(reverse("console:add_note", args=[order.pk]), {"text": "Offered a refund."})

    note = OrderNote.objects.get(order=order)
    assert note.text == "Offered a refund." and note.author_name.startswith("user")
    assert "Offered a refund." in _page(agent, order)
    assert [action for _user, action in _audit(order)] == ["add_note"]


def test_an_empty_note_is_refused_with_a_message(agent, order):
    response = agent.post(reverse("console:add_note", args=[order.pk]), {"text": "  "}, follow=True)

    assert "The note was empty" in response.content.decode()
    assert not OrderNote.objects.exists()


def test_copying_the_link_answers_the_signed_link_and_is_audited(agent, order):
    response = agent.post(reverse("console:copy_link", args=[order.pk]))

    link = json.loads(response.content)["link"]
    assert "/orders/FDC-01-12345/FDC-1001?t=" in link
    assert [action for _user, action in _audit(order)] == ["copy_link"]


def test_open_pdf_goes_to_the_signed_pdf_and_is_audited(agent, order):
    response = agent.get(reverse("console:pdf", args=[order.pk]))

    assert response.status_code == 302
    assert "/orders/FDC-01-12345/FDC-1001.pdf?t=" in response["Location"]
    assert [action for _user, action in _audit(order)] == ["open_pdf"]


def test_the_activity_list_shows_who_did_what(agent, order):
    agent.post(reverse("console:add_note", args=[order.pk]), {"text": "Called the carrier."})

    assert "</strong>: Added a note" in _page(agent, order)


# --- Who may see what ---------------------------------------------------------------------------


def _every_view(order, notification) -> list[tuple[str, str]]:
    return [
        ("get", reverse("console:order", args=[order.pk])),
        ("post", reverse("console:refresh", args=[order.pk])),
        ("post", reverse("console:resend", args=[order.pk, notification.pk])),
        ("post", reverse("console:add_note", args=[order.pk])),
        ("post", reverse("console:copy_link", args=[order.pk])),
        ("get", reverse("console:pdf", args=[order.pk])),
    ]


def test_another_merchants_agent_can_neither_see_nor_act_on_the_order(
    other_agent, order, sent_email
):
    for method, url in _every_view(order, sent_email):
        response = getattr(other_agent, method)(url, {"text": "x"} if method == "post" else None)
        assert response.status_code == 404, url

    assert not AuditEntry.objects.exists() and not OrderNote.objects.exists()
    assert Notification.objects.count() == 1
    assert not TrackingEvent.objects.exists()
    search = other_agent.get(reverse("console:search"), {"q": "FDC-1001"}).content.decode()
    assert "Nothing matches" in search


def test_a_notification_of_another_order_cannot_be_resent_through_ones_own(
    agent, merchant, other_merchant, sent_email
):
    mine = create_order(merchant, "FDC-7")
    sent_email.merchant, sent_email.order = other_merchant, create_order(other_merchant, "X-1")
    sent_email.save()

    response = agent.post(reverse("console:resend", args=[mine.pk, sent_email.pk]))

    assert response.status_code == 404
    assert Notification.objects.count() == 1


def test_flexengage_staff_see_every_merchants_orders(client, order, other_merchant):
    create_order(other_merchant, "OTH-1", customer_name="Jane Doe")
    client.force_login(get_user_model().objects.create_superuser("staff", "s@x.example", "pw"))

    page = client.get(reverse("console:search"), {"q": "Jane Doe"}).content.decode()

    assert "FDC-1001" in page and "OTH-1" in page
    assert "Other Shop" in page  # staff see which merchant each order belongs to


def test_anonymous_visitors_are_sent_to_log_in(client, order):
    for method, url in _every_view(order, order):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_a_login_without_any_merchant_is_refused(client, order):
    client.force_login(get_user_model().objects.create_user("nobody", password="pw", is_staff=True))

    assert client.get(reverse("console:search"), {"q": "FDC-1001"}).status_code == 403
    assert client.get(reverse("console:order", args=[order.pk])).status_code == 403
