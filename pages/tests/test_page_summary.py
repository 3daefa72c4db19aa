"""The page answers "where is it, when will it come" first: a headline and a line of counts,
problems first, a progress line that shows problems as problems, the newest events first."""

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine

from carriers.events import CarrierEvent, Location
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(NOW, tick=False):
        yield


def _scan(number: str, status: str, detail: str = "unknown", *, hours_ago: float = 1,
          estimate: date | None = None) -> None:  # fmt: skip
    shipment = Shipment.objects.get(tracking_number=number)
    if estimate:
        Shipment.objects.filter(pk=shipment.pk).update(estimated_delivery_date=estimate)
    event = CarrierEvent(
        occurred_at=NOW - timedelta(hours=hours_ago), status=status, status_detail=detail,
        event_type="EXCEPTION" if status == "exception" else "TRANSIT", description="",
        location=Location("Dallas", "TX", "", "US"),
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def _html(client, merchant, order_id="1001") -> str:
    response = client.get(f"/orders/{merchant.merchant_id}/{order_id}")
    assert response.status_code == 200
    return response.content.decode()


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _summary(html: str) -> tuple[str, str]:
    headline = re.search(r'<p class="headline (\w+)">([^<]*)</p>', html)
    line = re.search(r'<p class="summary-line">([^<]*)</p>', html)
    return headline.group(2).replace("&#x27;", "'"), line.group(1) if line else ""


@pytest.fixture
def split_order(merchant):
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    ship(merchant, "1001", "SBXEXCEPTION0001", ("TOWEL", 1))


def test_one_delivered_and_one_in_trouble_says_so_first_and_shows_the_problem_first(
    client, merchant, split_order
):
    # given
    _scan("SBXDELIVERED0001", "delivered", hours_ago=5)
    _scan("SBXEXCEPTION0001", "exception", "address_issue", estimate=date(2026, 12, 9))
    # when
    html = _html(client, merchant)
    # then the summary comes before the first package, the problem package before the other
    assert _summary(html) == ("Needs your attention",
                              "1 of 2 packages delivered · 1 needs your attention")  # fmt: skip
    assert '<p class="headline problem">' in html
    assert html.index('class="headline') < html.index("<article")
    assert html.index("SBXEXCEPTION0001") < html.index("SBXDELIVERED0001")
    assert "Package 1 of 2: Exception" in html
    # no estimate on a package in trouble
    assert "Estimated delivery" not in html


def test_the_progress_line_shows_a_problem_as_a_problem(client, merchant, split_order):
    # given
    _scan("SBXEXCEPTION0001", "exception", "address_issue")
    # when
    html = _html(client, merchant)
    # then
    line = re.search(r'<ol class="progress"[^>]*>(.*?)</ol>', html, re.S).group(1)
    steps = re.findall(r'<li class="(\w*)"( aria-current="step")?>(.*?)</li>', line)
    assert [(css, _text(label), bool(current)) for css, current, label in steps] == [
        ("done", "Label created", False),
        ("done", "In transit", False),
        ("problem", "⚠ Problem", True),
        ("", "Delivered", False),
    ]


def test_a_return_ends_the_progress_line_there(client, merchant, split_order):
    _scan("SBXEXCEPTION0001", "return_to_sender", "unknown")
    html = _html(client, merchant)
    line = re.search(r'<ol class="progress"[^>]*>(.*?)</ol>', html, re.S).group(1)
    assert [_text(label) for label in re.findall(r"<li[^>]*>(.*?)</li>", line)] == [
        "Label created", "In transit", "⚠ Returning to sender",
    ]  # fmt: skip


def test_on_its_way_says_the_day_it_arrives(client, merchant, split_order):
    # given
    _scan("SBXDELIVERED0001", "in_transit", "departed_facility", estimate=date(2026, 12, 10))
    _scan("SBXEXCEPTION0001", "in_transit", "departed_facility", estimate=date(2026, 12, 11))
    # then the earliest arrival, with its weekday
    assert _summary(_html(client, merchant)) == (
        "Arriving Thursday, December 10",
        "0 of 2 packages delivered",
    )
    # and in Spanish
    html = client.get(f"/orders/{merchant.merchant_id}/1001?lang=es").content.decode()
    assert _summary(html)[0] == "Llega el jueves, 10 de diciembre"


def test_out_for_delivery_is_arriving_today_and_all_delivered_says_when(client, merchant):
    # given
    create_order(merchant, "1002")
    ship(merchant, "1002", "SBXDELIVERED0002", ("MUG", 2), ("TOWEL", 1))
    _scan("SBXDELIVERED0002", "out_for_delivery", "out_for_delivery")
    assert _summary(_html(client, merchant, "1002")) == ("Arriving today", "")
    # when, a minute later (the clock stands still in these tests; the page cache's version
    # moves with the shipment's updated_at)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        _scan("SBXDELIVERED0002", "delivered", hours_ago=0.5)
        # then
        assert _summary(_html(client, merchant, "1002")) == ("Delivered on Monday, December 7", "")


def test_the_newest_three_events_show_and_the_rest_are_behind_show_all(
    client, merchant, split_order
):
    # given five scans
    for hours_ago in (50, 40, 30, 20, 10):
        _scan("SBXDELIVERED0001", "in_transit", "departed_facility", hours_ago=hours_ago)
    # when
    article = _article(_html(client, merchant, "1001?lang=en"), "SBXDELIVERED0001")
    # then the newest three, and a link to the package with all of its events
    assert len(re.findall(r"<li><time", article)) == 3
    link = re.search(r'<p class="older-history"><a href="([^"]+)">Show all 2 earlier events</a>',
                     article).group(1)  # fmt: skip
    link = unescape(link)
    assert link == "?lang=en&trackingId=SBXDELIVERED0001#package-SBXDELIVERED0001"
    # and following it (no JavaScript needed) shows them all, open
    opened = client.get(f"/orders/{merchant.merchant_id}/1001{link.split('#')[0]}")
    article = _article(opened.content.decode(), "SBXDELIVERED0001")
    recent, older = article.split('<details class="older-history" open>')
    assert len(re.findall(r"<li><time", recent)) == 3
    assert "<summary>Show all 2 earlier events</summary>" in older
    assert len(re.findall(r"<li><time", older)) == 2
    assert '<p class="whole-order"><a href="?lang=en">See the whole order</a></p>' in (
        opened.content.decode()
    )


def _article(html: str, number: str) -> str:
    article = html[html.index(f'id="package-{number}"') :]
    return article[: article.index("</article>")]


def _pdf_pages(client, merchant, order_id: str) -> list[str]:
    from io import BytesIO

    from pypdf import PdfReader

    response = client.get(f"/orders/{merchant.merchant_id}/{order_id}.pdf")
    assert response["Content-Type"] == "application/pdf"
    return [page.extract_text() for page in PdfReader(BytesIO(response.content)).pages]


def _order_with_packages(merchant, order_id: str, packages: int) -> None:
    from orders.services import LineItemInput

    items = [LineItemInput(item_id=f"SKU-{n}", name=f"Item number {n}", quantity=2)
             for n in range(packages)]  # fmt: skip
    create_order(merchant, order_id, line_items=items)
    for n in range(packages):
        number = f"SBXDELIVERED{order_id}{n:04d}"
        ship(merchant, order_id, number, (f"SKU-{n}", 2))
        for hours_ago in range(40, 0, -4):  # ten scans each
            _scan(number, "in_transit", "departed_facility", hours_ago=hours_ago + n)


def test_the_pdf_of_three_packages_is_one_page_with_the_time_it_was_made(client, merchant):
    # given three packages with ten scans each
    _order_with_packages(merchant, "3003", 3)
    # when
    pages = _pdf_pages(client, merchant, "3003")
    # then
    assert len(pages) == 1
    text = pages[0].replace(" ", "")
    assert "Asof" in text and "Dec.7,2026" in text
    assert "Page1/1" in text


def test_a_longer_pdf_numbers_its_pages(client, merchant):
    _order_with_packages(merchant, "1010", 10)
    pages = _pdf_pages(client, merchant, "1010")
    assert len(pages) > 1
    for number, text in enumerate(pages, start=1):
        assert f"Page{number}/{len(pages)}" in text.replace(" ", "")


def test_a_delivered_package_shows_who_received_it_and_the_signature(client, merchant):
    # given a delivery the carrier recorded with a recipient and a signature
    create_order(merchant, "1005")
    ship(merchant, "1005", "SBXDELIVERED0005", ("MUG", 2), ("TOWEL", 1))
    shipment = Shipment.objects.get(tracking_number="SBXDELIVERED0005")
    delivered = CarrierEvent(
        occurred_at=NOW - timedelta(hours=1), status="delivered", status_detail="unknown",
        event_type="DELIVERED", description="", location=Location("Austin", "TX", "", "US"),
        recipient="Jane Q. Doe", signature_url="https://carrier.example/sig/123.png",
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[delivered], source="poll")
    # when
    html = _html(client, merchant, "1005")
    # then: enough to recognise, never the full name
    assert "Received by J. Doe" in html
    assert '<a href="https://carrier.example/sig/123.png" rel="noopener noreferrer">' in html
    assert "Jane Q. Doe" not in html


def test_product_images_show_when_the_oms_sends_them_over_https(client, merchant):
    from orders.services import LineItemInput

    create_order(merchant, "1006", line_items=[
        LineItemInput(item_id="MUG", name="Blue mug", quantity=1,
                      image_url="https://cdn.example/mug.jpg"),
        LineItemInput(item_id="TOWEL", name="Tea towel", quantity=1,
                      image_url="http://cdn.example/towel.jpg"),
    ])  # fmt: skip
    html = _html(client, merchant, "1006")
    assert '<img class="item-image" src="https://cdn.example/mug.jpg" alt=""' in html
    assert "http://cdn.example/towel.jpg" not in html  # the page's CSP would block it anyway
