"""The merchant dashboard as merchants and staff read it: the right numbers for a known month of
shipments and messages, only the merchant's own, over the chosen dates, in a fixed number of
queries, with charts that are valid SVG carrying the same numbers."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.charts import Bar, horizontal_bar_chart
from merchants.services import membership_grant
from merchants.tests.factories import MerchantFactory, UserFactory, member_of
from notifications.models import Notification
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
URL = "/console/dashboard"


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def add_shipment(merchant, number: str, carrier: str = "sandbox", **fields) -> Shipment:
    """An order with one shipment, then the dates and status a carrier would have given it."""
    order_date = fields.pop("order_date", None)
    create_order(merchant, f"O-{number}", order_date=order_date)
    shipment = ship(merchant, f"O-{number}", number, ("MUG", 1), carrier=carrier).instance
    Shipment.objects.filter(pk=shipment.pk).update(**fields)
    return shipment


def add_messages(merchant, channel: str, status: str, created_at: datetime, count: int) -> None:
    for _index in range(count):
        notification = Notification.objects.create(
            merchant=merchant, channel=channel, recipient=f"r{Notification.objects.count()}",
            trigger="shipped", dedupe_key=f"test:{Notification.objects.count()}", status=status,
        )  # fmt: skip
        Notification.objects.filter(pk=notification.pk).update(created_at=created_at)


@pytest.fixture
def month(merchant, other_merchant):
    """Fred's shipments of the last 30 days (and one older), and one of Other Shop's."""
    add_shipment(merchant, "UPS1", "ups", status="delivered", shipped_at=at(1),
                 delivered_at=at(3), estimated_delivery_date=date(2026, 3, 3))  # fmt: skip
    add_shipment(merchant, "UPS2", "ups", status="delivered", shipped_at=at(2),
                 delivered_at=at(6), estimated_delivery_date=date(2026, 3, 4))  # fmt: skip
    add_shipment(merchant, "FDX1", "fedex", status="delivered", shipped_at=at(5, 0),
                 delivered_at=at(6, 12))  # fmt: skip
    add_shipment(merchant, "FDX2", "fedex", status="delivered", shipped_at=at(6, 0),
                 delivered_at=at(8, 12), is_delayed=True)  # fmt: skip
    add_shipment(merchant, "SBXSTALE", status="in_transit", shipped_at=at(10),
                 last_event_at=at(12))  # fmt: skip
    add_shipment(merchant, "SBXMOVING", status="in_transit", shipped_at=at(18),
                 last_event_at=at(19))  # fmt: skip
    add_shipment(merchant, "USPS1", "usps", status="exception", status_detail="address_issue",
                 status_description="Insufficient address", shipped_at=at(11),
                 last_event_at=at(15))  # fmt: skip
    add_shipment(merchant, "DHL1", "dhl", status="failed_attempt",
                 status_detail="recipient_not_available", shipped_at=at(13),
                 last_event_at=at(17))  # fmt: skip
    add_shipment(merchant, "UPS3", "ups", status="out_for_delivery", is_delayed=True,
                 shipped_at=at(16), last_event_at=at(20, 10))  # fmt: skip
    add_shipment(merchant, "SBXRETURN", status="return_to_sender", shipped_at=at(9),
                 last_event_at=at(14))  # fmt: skip
    add_shipment(merchant, "OLD1", "ups", status="exception", shipped_at=at(10, month=1),
                 last_event_at=at(12, month=1), order_date=at(9, month=1))  # fmt: skip
    add_shipment(other_merchant, "OTHER1", "ups", status="exception", shipped_at=at(15),
                 last_event_at=at(16))  # fmt: skip
    Notification.objects.all().delete()  # only the messages below
    add_messages(merchant, "email", "sent", at(18), 3)
    add_messages(merchant, "email", "failed", at(18), 1)
    add_messages(merchant, "sms", "sent", at(19), 2)
    add_messages(merchant, "staff_email", "pending", at(19), 1)
    add_messages(merchant, "email", "sent", at(1, month=2), 5)  # before the period
    add_messages(other_merchant, "webhook", "sent", at(18), 7)


@pytest.fixture
def agent(client, merchant):
    client.force_login(member_of(merchant, "agent"))
    return client


@pytest.fixture
def staff(client):
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@flexengage.example",
                                                                  "pw"))  # fmt: skip
    return client


class _Page(HTMLParser):
    """The texts a reader sees: table rows by table id, and the headline numbers."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.numbers: dict[str, str] = {}
        self._table = self._cell = self._number = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif self._cell is not None:
            self._cell.append(" ")  # <br>, <small>: words apart, as a reader sees them
        elif self._number:
            self.numbers[self._number] += " "
        elif tag == "dd" and "data-number" in attrs:
            self._number = attrs["data-number"]
            self.numbers[self._number] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "dd":
            self._number = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._number:
            self.numbers[self._number] = " ".join((self.numbers[self._number] + data).split())


def read(client, **params) -> tuple[_Page, str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    page = _Page()
    page.feed(html)
    return page, html


def svgs(html: str) -> dict[str, ET.Element]:
    charts = {}
    for markup in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL):
        svg = ET.fromstring(markup)  # noqa: S314 - our own page; raises unless well-formed
        charts[svg.find(f"{SVG}title").text] = svg
    return charts


def texts(svg: ET.Element) -> list[str]:
    return [element.text for element in svg.iter(f"{SVG}text")]


# --- The numbers ---------------------------------------------------------------------------------


def test_the_headline_numbers_count_the_last_30_days(agent, month):
    # when
    page, html = read(agent)

    # then
    assert "Feb 19, 2026 – Mar 20, 2026" in html
    assert page.numbers == {
        "orders": "10",
        "shipments": "10",
        "delivered": "40% 4 of 10",
        "on-time": "50% 1 of 2 with an estimated date",
        "attention": "5",
        "messages": "5 1 failed",
    }


def test_shipments_by_status_follow_the_tracking_model_order_with_counts_and_shares(agent, month):
    # when
    page, html = read(agent)

    # then
    assert page.tables["statuses"][1:] == [
        ["Unknown", "0", "0%"],
        ["Label created", "0", "0%"],
        ["In transit", "2", "20%"],
        ["Out for delivery", "1", "10%"],
        ["Ready for pickup", "0", "0%"],
        ["Delivered", "4", "40%"],
        ["Delivery attempted", "1", "10%"],
        ["Exception", "1", "10%"],
        ["Returning to sender", "1", "10%"],
        ["Cancelled", "0", "0%"],
        ["Tracking expired", "0", "0%"],
    ]
    chart = svgs(html)["Shipments by status"]
    assert {"Delivered", "4 (40%)", "In transit", "2 (20%)"} <= set(texts(chart))
    assert "Delivered: 4 (40%)" in chart.find(f"{SVG}desc").text


def test_average_transit_days_per_carrier_come_from_delivered_shipments(agent, month):
    # when
    page, html = read(agent)

    # then: FedEx 1.5 and 2.5 days, UPS 2 and 4 days; the fastest first
    assert page.tables["transit"][1:] == [["FedEx", "2.0", "2"], ["UPS", "3.0", "2"]]
    chart = svgs(html)["Average transit days per carrier"]
    assert {"FedEx", "2.0 days", "UPS", "3.0 days"} <= set(texts(chart))


def test_needs_attention_lists_problems_latest_news_first_with_links_to_the_orders(agent, month):
    # when
    page, html = read(agent)

    # then
    rows = page.tables["attention-list"][-5:]
    assert [row[2] for row in rows] == ["UPS3", "DHL1", "USPS1", "SBXRETURN", "SBXSTALE"]
    assert rows[0][4].startswith("Delayed")
    assert rows[1][4] == "Delivery attempted Recipient not available (code 001)"
    assert rows[2][4] == "Exception Address problem (code 002) Insufficient address"
    assert rows[4][4] == "No carrier scan for 8 days"
    assert [row[5] for row in rows] == ["0", "3", "5", "6", "8"]
    order = Order.objects.get(order_id="O-USPS1")
    assert f'href="{reverse("console:order", args=[order.pk])}"' in html
    assert "SBXMOVING" not in html and "FDX2" not in html  # fine, and delivered though late


def test_the_attention_list_is_capped_and_says_how_many_more(agent, merchant):
    # given
    for index in range(53):
        add_shipment(merchant, f"SBXEXC{index}", status="exception", shipped_at=at(10),
                     last_event_at=at(10) + timedelta(minutes=index))  # fmt: skip

    # when
    page, html = read(agent)

    # then
    assert page.numbers["attention"] == "53"
    assert len(page.tables["attention-list"]) == 1 + 50
    assert page.tables["attention-list"][1][2] == "SBXEXC52"
    assert "and 3 more shipments not listed here" in html


def test_notification_volume_per_day_by_channel_sent_and_failed(agent, month):
    # when
    page, html = read(agent, **{"from": "2026-03-17", "to": "2026-03-20"})

    # then
    assert page.tables["notifications-total"] == [
        ["Channel", "Sent", "Failed"],
        ["Customer email", "3", "1"],
        ["Customer SMS", "2", "0"],
        ["Staff alert email", "0", "0"],
    ]
    assert page.tables["notifications-daily"] == [
        ["Day", "Customer email", "Customer SMS", "Staff alert email"],
        ["Tue Mar 17", "0 / 0", "0 / 0", "0 / 0"],
        ["Wed Mar 18", "3 / 1", "0 / 0", "0 / 0"],
        ["Thu Mar 19", "0 / 0", "2 / 0", "0 / 0"],
        ["Fri Mar 20", "0 / 0", "0 / 0", "0 / 0"],
    ]
    chart = svgs(html)["Customer email per day"]
    assert "3 sent and 1 failed" in chart.find(f"{SVG}desc").text
    assert [title.text for title in chart.iter(f"{SVG}title")][1:] == [
        "Mar 18: 3 Sent",
        "Mar 18: 1 Failed",
    ]
    assert {"Mar 17", "Mar 20"} <= set(texts(chart))


def test_every_chart_is_well_formed_svg_with_a_title_and_a_description(agent, month):
    # when
    _page, html = read(agent)

    # then
    charts = svgs(html)
    assert set(charts) == {
        "Shipments by status",
        "Average transit days per carrier",
        "Customer email per day",
        "Customer SMS per day",
        "Staff alert email per day",
    }
    for svg in charts.values():
        assert svg.get("role") == "img"
        assert svg.find(f"{SVG}desc").text
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.find(f"{SVG}title").get("id") == title_id
        assert svg.find(f"{SVG}desc").get("id") == desc_id


def test_a_carrier_description_with_markup_is_escaped_in_the_page(agent, merchant):
    # given
    add_shipment(merchant, "SBXHTML", status="exception", shipped_at=at(15),
                 status_description="<script>alert(1)</script>")  # fmt: skip

    # when
    _page, html = read(agent)

    # then
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_a_merchant_with_nothing_yet_sees_zeros_and_dashes(agent):
    # when
    page, html = read(agent)

    # then
    assert page.numbers["shipments"] == "0"
    assert page.numbers["delivered"] == "— 0 of 0"
    assert page.numbers["on-time"] == "— no delivered shipment had an estimated date"
    assert "Nothing needs attention in this period." in html
    assert "No messages in this period." in html
    assert set(svgs(html)) == {"Shipments by status", "Average transit days per carrier"}


def test_chart_labels_are_escaped_and_the_svg_stays_well_formed():
    # when
    markup = horizontal_bar_chart(
        chart_id="c", title="Tom & <Jerry>", description="1 < 2", bars=[Bar("A & <B>", 3, "3")]
    )

    # then
    svg = ET.fromstring(markup)  # noqa: S314 - built by the test
    assert svg.find(f"{SVG}title").text == "Tom & <Jerry>"
    assert texts(svg) == ["A & <B>", "3"]


# --- Who sees what ------------------------------------------------------------------------------


def test_an_agent_sees_only_their_merchant(agent, month):
    # when
    page, html = read(agent)

    # then
    assert "OTHER1" not in html
    assert "Other Shop" not in html
    assert "Merchant webhook" not in html  # Other Shop's 7 webhooks
    assert page.numbers["shipments"] == "10"


def test_an_agent_asking_for_another_merchant_gets_a_404(agent, month, other_merchant):
    for value in (other_merchant.merchant_id, str(other_merchant.pk), "all", "NOPE-01-00000"):
        # when
        response = agent.get(URL, {"merchant": value})

        # then
        assert response.status_code == 404, value
        assert b"OTHER1" not in response.content


def test_a_member_of_two_merchants_chooses_between_them_and_no_other(client, merchant, month):
    # given
    third = MerchantFactory(merchant_id="THR-03-11111", name="Third Shop")
    user = member_of(merchant, "admin")
    membership_grant(user=user, merchant=third, role="agent")
    client.force_login(user)
    add_shipment(third, "THIRD1", "ups", status="exception", shipped_at=at(15))

    # when
    _page, own = read(client, merchant=merchant.merchant_id)
    _page, third_page = read(client, merchant=third.merchant_id)

    # then
    assert "Other Shop" not in own and "All merchants</option>" not in own
    assert '<option value="THR-03-11111">Third Shop (THR-03-11111)</option>' in own
    assert "THIRD1" in third_page and "USPS1" not in third_page
    assert "USPS1" in own and "THIRD1" not in own


def test_staff_see_all_merchants_by_default_and_can_choose_one(staff, month, other_merchant):
    # when
    all_page, all_html = read(staff)
    one_page, one_html = read(staff, merchant=other_merchant.merchant_id)

    # then
    assert all_page.numbers["shipments"] == "11"
    assert "OTHER1" in all_html and "USPS1" in all_html
    assert '<option value="all" selected>All merchants</option>' in all_html
    assert one_page.numbers["shipments"] == "1"
    assert one_page.numbers["messages"] == "7 0 failed"
    assert "USPS1" not in one_html


def test_a_user_without_a_merchant_is_refused(client):
    # given
    client.force_login(UserFactory())

    # when
    response = client.get(URL)

    # then
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- The dates ----------------------------------------------------------------------------------


def test_a_chosen_range_counts_only_the_shipments_and_messages_in_it(agent, month):
    # when
    page, html = read(agent, **{"from": "2026-01-01", "to": "2026-03-05"})

    # then: UPS1, UPS2, FDX1 and the January exception; the February emails
    assert page.numbers["shipments"] == "4"
    assert page.numbers["orders"] == "1"  # the January order; the others were placed today
    assert page.numbers["messages"] == "5 0 failed"
    assert "OLD1" in html and "USPS1" not in html
    assert "Jan 1, 2026 – Mar 5, 2026" in html


def test_presets_show_the_last_7_days(agent, month):
    # when
    page, html = read(agent, days="7")

    # then: shipped Mar 14–20: SBXMOVING and UPS3
    assert "Mar 14, 2026 – Mar 20, 2026" in html
    assert page.numbers["shipments"] == "2"
    assert 'aria-current="true">7 days' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "yesterday"}, "The start date “yesterday” is not a date like 2026-03-31"),
        ({"to": "2026-02-30"}, "The end date “2026-02-30” is not a date like 2026-03-31"),
        ({"from": "0001-01-01"}, "The start date “0001-01-01” is not a date like 2026-03-31"),
        ({"days": "9999"}, "Choose 7, 30 or 90 days"),
    ],
)
def test_bad_dates_give_a_message_and_the_default_period_never_an_error(
    agent, month, params, message
):
    # when
    page, html = read(agent, **params)

    # then
    assert message in html
    assert 'role="alert"' in html
    assert "Feb 19, 2026 – Mar 20, 2026" in html
    assert page.numbers["shipments"] == "10"


def test_an_end_before_the_start_is_swapped_and_said(agent, month):
    # when
    page, html = read(agent, **{"from": "2026-03-05", "to": "2026-03-01"})

    # then
    assert "the two were swapped" in html
    assert "Mar 1, 2026 – Mar 5, 2026" in html
    assert page.numbers["shipments"] == "3"


def test_a_range_longer_than_366_days_is_shortened(agent, month):
    # when
    _page, html = read(agent, **{"from": "2020-01-01", "to": "2026-03-20"})

    # then
    assert "At most 366 days are shown at once: the period now starts on 2025-03-20." in html
    assert "Mar 20, 2025 – Mar 20, 2026" in html


def test_the_default_period_ends_today_in_the_merchants_time_zone(agent, merchant):
    # given: 15:00 UTC on March 20 is already March 21 in Auckland
    merchant.time_zone = "Pacific/Auckland"
    merchant.save()
    add_shipment(merchant, "SBXLATE", status="in_transit", shipped_at=at(20, 12))  # 01:00 Mar 21
    Notification.objects.all().delete()
    add_messages(merchant, "sms", "sent", at(20, 12), 2)  # 01:00 on March 21 in Auckland
    add_messages(merchant, "sms", "failed", at(19, 10), 1)  # 23:00 on March 19 there

    # when
    page, html = read(agent)

    # then
    assert "Feb 20, 2026 – Mar 21, 2026" in html
    assert "dates in Pacific/Auckland" in html
    assert page.numbers["shipments"] == "1"
    daily = page.tables["notifications-daily"]
    assert daily[-3:] == [["Thu Mar 19", "0 / 1"], ["Fri Mar 20", "0 / 0"], ["Sat Mar 21", "2 / 0"]]


# --- Cost ---------------------------------------------------------------------------------------


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_few_queries_for_3_or_30_shipments(
    agent, merchant, django_assert_max_num_queries
):
    # given
    def add(first: int, last: int) -> None:
        for index in range(first, last):
            add_shipment(merchant, f"SBXQ{index}", status="exception", shipped_at=at(10),
                         delivered_at=None, is_delayed=True)  # fmt: skip
            add_messages(merchant, "email", "sent", at(10 + index % 9), 1)

    add(0, 3)
    few = _queries(agent)
    add(3, 30)

    # when
    with django_assert_max_num_queries(12):
        many = _queries(agent)

    # then
    assert many == few
