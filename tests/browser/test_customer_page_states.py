"""The customer page in each state a customer meets, at a phone's and a desktop's width: what
they notice first (the summary before the packages, the problem before the delivered package),
buttons big enough for a thumb, nothing wider than the screen, and no accessibility violation
axe-core can find, at any impact.

With SAVE_PAGE_SCREENSHOTS=1 the screenshots are written to docs/page/ (the README shows them).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import timezone

from carriers.events import CarrierEvent, Location
from merchants.models import Merchant
from orders.links import tracking_page_url
from orders.models import Order, Shipment
from orders.services import ItemQuantity, items_backorder, order_cancel
from orders.tests.factories import create_order, ship
from tests.browser.chromium import needs_chromium
from tracking.services import shipment_apply_events

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

MERCHANT_ID = "FDC-01-12345"
WIDTHS = {"phone": {"width": 360, "height": 740, "phone": True}, "desktop": {"width": 1280}}
DOCS = Path(settings.BASE_DIR) / "docs" / "page"


def _scan(number: str, status: str, detail: str = "unknown", hours_ago: float = 1) -> None:
    shipment = Shipment.objects.get(tracking_number=number)
    event = CarrierEvent(
        occurred_at=timezone.now() - timedelta(hours=hours_ago), status=status,
        status_detail=detail, event_type="EXCEPTION" if status == "exception" else "TRANSIT",
        description="", location=Location("Dallas", "TX", "", "US"),
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def _all_delivered(merchant) -> Order:
    order = create_order(merchant, "FDC-5001")
    ship(merchant, "FDC-5001", "SBXDELIVERED50010001", ("MUG", 2), ("TOWEL", 1))
    _scan("SBXDELIVERED50010001", "in_transit", "departed_facility", hours_ago=30)
    _scan("SBXDELIVERED50010001", "delivered", hours_ago=2)
    return order


def _one_delivered_one_in_trouble(merchant) -> Order:
    order = create_order(merchant, "FDC-5002")
    ship(merchant, "FDC-5002", "SBXDELIVERED50020001", ("MUG", 2))
    ship(merchant, "FDC-5002", "SBXEXCEPTION50020002", ("TOWEL", 1))
    _scan("SBXDELIVERED50020001", "delivered", hours_ago=3)
    _scan("SBXEXCEPTION50020002", "exception", "address_issue")
    return order


def _a_return(merchant) -> Order:
    order = create_order(merchant, "FDC-5003")
    ship(merchant, "FDC-5003", "SBXRETURN50030001", ("MUG", 2), ("TOWEL", 1))
    _scan("SBXRETURN50030001", "return_to_sender", "unknown")
    return order


def _backordered_and_cancelled(merchant) -> Order:
    order = create_order(merchant, "FDC-5004")
    ship(merchant, "FDC-5004", "SBXDELIVERED50040001", ("MUG", 1))
    _scan("SBXDELIVERED50040001", "in_transit", "departed_facility")
    expected = (timezone.now() + timedelta(days=9)).date()
    items_backorder(merchant=merchant, order_id="FDC-5004",
                    items=[ItemQuantity("TOWEL", 1, expected)])  # fmt: skip
    order_cancel(merchant=merchant, order_id="FDC-5004", items=[ItemQuantity("MUG", 1)])
    return order


ORDERS = {
    "all-delivered": _all_delivered,
    "delivered-and-problem": _one_delivered_one_in_trouble,
    "return": _a_return,
    "backordered-cancelled": _backordered_and_cancelled,
}


def _check_what_a_customer_notices(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for control in page.locator("main a.button, main button, footer a.button").all():
        if control.is_visible():
            assert control.bounding_box()["height"] >= 44, control.inner_text()
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def _screenshot(page, screenshot_path, name: str) -> None:
    page.screenshot(path=screenshot_path(f"state-{name}.png"), full_page=True)
    if os.environ.get("SAVE_PAGE_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=DOCS / f"{name}.png", full_page=True)


@pytest.mark.parametrize("size", WIDTHS)
@pytest.mark.parametrize("state", ORDERS)
def test_the_page_in_each_state(open_page, screenshot_path, state, size):
    # given
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    link = urlsplit(tracking_page_url(ORDERS[state](merchant)))
    # when
    page = open_page(f"{link.path}?{link.query}", **WIDTHS[size])
    # then the summary comes first, then problems, then the rest
    summary = page.locator("p.headline")
    first_package = page.locator("article.shipment").first
    assert summary.bounding_box()["y"] < first_package.bounding_box()["y"]
    if state == "delivered-and-problem":
        assert page.locator("p.summary-line").inner_text() == (
            "1 of 2 packages delivered · 1 needs your attention"
        )
        assert "SBXEXCEPTION50020002" in first_package.inner_text()
        assert first_package.locator(".progress li.problem").count() == 1
    if state == "backordered-cancelled":
        assert page.get_by_role("region", name="Backordered").is_visible()
        assert page.get_by_role("region", name="Cancelled items").is_visible()
    _check_what_a_customer_notices(page, WIDTHS[size]["width"])
    _screenshot(page, screenshot_path, f"{state}-{size}")


@pytest.mark.parametrize("size", WIDTHS)
def test_an_unknown_order_and_the_lookup_form(open_page, screenshot_path, size):
    unknown = open_page(f"/orders/{MERCHANT_ID}/FDC-9999", status=404, **WIDTHS[size])
    _check_what_a_customer_notices(unknown, WIDTHS[size]["width"])
    _screenshot(unknown, screenshot_path, f"unknown-order-{size}")
    lookup = open_page(f"/orders/{MERCHANT_ID}/", **WIDTHS[size])
    assert lookup.locator("h1").inner_text() == "Find your order"
    _check_what_a_customer_notices(lookup, WIDTHS[size]["width"])
    _screenshot(lookup, screenshot_path, f"lookup-{size}")


@pytest.mark.parametrize("size", WIDTHS)
def test_arabic_right_to_left(open_page, screenshot_path, size):
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    link = urlsplit(tracking_page_url(_one_delivered_one_in_trouble(merchant)))
    page = open_page(f"{link.path}?{link.query}&lang=ar", **WIDTHS[size])
    assert page.get_attribute("html", "dir") == "rtl"
    _check_what_a_customer_notices(page, WIDTHS[size]["width"])
    _screenshot(page, screenshot_path, f"arabic-{size}")


def test_show_all_opens_the_package_with_all_of_its_events(open_page):
    # given a package with five scans, on a signed link
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    order = create_order(merchant, "FDC-5005")
    ship(merchant, "FDC-5005", "SBXTRANSIT50050001", ("MUG", 1))
    for hours_ago in (50, 40, 30, 20, 10):
        _scan("SBXTRANSIT50050001", "in_transit", "departed_facility", hours_ago=hours_ago)
    link = urlsplit(tracking_page_url(order))
    page = open_page(f"{link.path}?{link.query}", **WIDTHS["phone"])
    assert page.locator("ol.timeline li:not(.day)").count() == 3
    # when the customer taps "Show all" (no script on the page)
    page.get_by_role("link", name="Show all 2 earlier events").click()
    page.wait_for_url("**trackingId=SBXTRANSIT50050001*")
    # then the package's whole history is there, open, and the link still signed
    assert page.locator("ol.timeline li:not(.day)").count() == 5
    assert page.locator("details.older-history").get_attribute("open") is not None
    assert "t=" in page.url
    _check_what_a_customer_notices(page, WIDTHS["phone"]["width"])
    # and "See the whole order" leads back to every package, newest events only
    page.get_by_role("link", name="See the whole order").click()
    page.wait_for_url(lambda url: "trackingId" not in url)
    assert page.locator("ol.timeline li:not(.day)").count() == 3
    assert "t=" in page.url
