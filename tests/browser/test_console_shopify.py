"""A Shopify order as an agent meets it, in headless Chromium: the customer gives the number the
shop showed them ("#9999", or just "9999"), the agent finds it, opens it and sends its link."""

import pytest
from django.conf import settings

from ingest.tests.test_channels_shopify import deliver, sample, shop_for
from merchants.models import Merchant
from merchants.tests.factories import member_of
from tests.browser.chromium import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shopify_order(client, demo):
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    shop_for(merchant)
    for topic in ("orders/create", "fulfillments/create"):
        assert deliver(client, topic, sample(topic)).json()["data"]["outcome"] == "accepted"
    return merchant


@pytest.fixture
def agent_page(signed_in, shopify_order):
    return signed_in(member_of(shopify_order, "agent"))


def test_an_agent_finds_a_shopify_order_by_its_number_without_the_hash(
    agent_page, live_server, screenshot_path
):
    page = agent_page
    # when: the customer reads out "nine nine nine nine"
    page.get_by_role("searchbox", name="Search orders").fill("9999")
    result = page.get_by_role("link", name="#9999")
    result.wait_for()
    page.screenshot(path=screenshot_path("console-search-shopify.png"), full_page=True)
    result.click()
    # then: the order, its package, and a link that opens the customer's page
    assert page.locator("h1").inner_text().startswith("Order #9999")
    assert page.get_by_text("1Z827WK74630").first.is_visible()
    page.get_by_role("button", name="Copy customer link").click()
    page.get_by_role("button", name="Copied").wait_for()
    link = page.evaluate("navigator.clipboard.readText()")
    assert "/orders/FDC-01-12345/%239999?t=" in link
    response = page.goto(link.replace(settings.PUBLIC_BASE_URL, live_server.url))
    assert response is not None and response.status == 200
    assert page.get_by_text("1Z827WK74630").first.is_visible()
