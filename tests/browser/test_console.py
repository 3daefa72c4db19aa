"""The customer-service console as an agent uses it, in headless Chromium, on the demo data:
log in, search a tracking number the way a customer reads it out, open the order, act on it."""

from datetime import UTC, datetime

import pytest

from merchants.models import Merchant
from merchants.tests.factories import member_of
from orders.models import AuditEntry
from orders.tests.factories import create_order
from tests.browser.chromium import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent_page(signed_in, demo):
    return signed_in(member_of(Merchant.objects.get(merchant_id="FDC-01-12345"), "agent"))


def test_an_agent_finds_an_order_by_its_tracking_number_and_opens_it(agent_page, screenshot_path):
    page = agent_page

    page.get_by_role("searchbox", name="Search orders").fill("sbx delivered 1001 0001")
    result = page.get_by_role("link", name="FDC-1001")
    result.wait_for()  # search as you type: no Enter needed
    page.screenshot(path=screenshot_path("console-search.png"), full_page=True)
    result.click()

    assert page.locator("h1").inner_text().startswith("Order FDC-1001")
    assert page.get_by_text("SBXDELIVERED10010001").is_visible()
    assert page.get_by_role("heading", name="Messages from the OMS").is_visible()
    page.screenshot(path=screenshot_path("console-order.png"), full_page=True)

    page.get_by_role("button", name="Copy customer link").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert "/orders/FDC-01-12345/FDC-1001?t=" in page.evaluate("navigator.clipboard.readText()")
    page.get_by_label("Add a note (only agents see it)").fill("Customer asked about the mug.")
    page.get_by_role("button", name="Add note").click()
    assert page.get_by_text("Customer asked about the mug.", exact=True).is_visible()
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {"copy_link", "add_note"}


def test_an_agent_finds_an_accented_name_typed_without_accents_and_reads_local_times(agent_page):
    # given: a French customer of the demo merchant (in America/Chicago), ordered at 13:05 UTC
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    create_order(merchant, "FDC-2002", customer_name="María López",
                 customer_phone="+33 6 12 34 56 78", shipping_address={"country_code": "FR"},
                 order_date=datetime(2026, 11, 20, 13, 5, tzinfo=UTC))  # fmt: skip
    page = agent_page
    # when: the agent types the name as the customer spells it on the phone
    page.get_by_role("searchbox", name="Search orders").fill("maria lopez")
    result = page.get_by_role("link", name="FDC-2002")
    result.wait_for()
    # then: one order, its date in the merchant's zone, named
    assert page.locator("table.results caption").inner_text() == "1 order matches “maria lopez”"
    placed = page.locator("table.results time")
    assert (placed.inner_text(), placed.get_attribute("title")) == (
        "Nov 20, 2026 07:05 CST", "America/Chicago"
    )  # fmt: skip
    result.click()
    assert page.locator("h1").inner_text().startswith("Order FDC-2002")
    assert page.get_by_text("Times in America/Chicago").is_visible()
    assert "Nov 20, 2026 07:05" in page.locator(".order-head .meta").inner_text()
