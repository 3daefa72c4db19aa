"""Issue 25 in headless Chromium: a customer asks for a return from the page (JavaScript off, a
phone's width), an agent decides in the console, the sandbox carrier brings the parcel back, and
the customer reads each step on the page and in their mailbox (a real SMTP server, aiosmtpd).
Plus an exchange refused with its message, a request outside the window, and a second request
for the same units."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from merchants.models import Merchant, ReturnPolicy, ReturnReason
from merchants.services import return_policy_save
from merchants.tests.factories import member_of
from notifications.sending import notifications_send_due
from orders.links import tracking_page_token
from orders.models import ReturnRequest, Shipment
from orders.tests.returns import delivered_order
from tests.browser.chromium import needs_chromium
from tracking.polling import shipment_refresh

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

MERCHANT_ID = "FDC-01-12345"
PHONE = {"width": 360, "height": 740, "phone": True}


@pytest.fixture
def merchant(demo) -> Merchant:
    """The demo merchant taking returns for 30 days, approved by an agent."""
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    policy = return_policy_save(policy=ReturnPolicy(
        merchant=merchant, is_enabled=True, window_days=30, exchange_allowed=True,
        shipping_instructions="Drop the parcel at any post office with the label.",
    ))  # fmt: skip
    ReturnReason.objects.create(policy=policy, code="too-small", labels={"en": "Too small"})
    ReturnReason.objects.create(policy=policy, code="damaged", labels={"en": "Arrived damaged"})
    return merchant


def _delivered(merchant, inbox, order_id: str, **kw) -> str:
    """Order `order_id` delivered (its delivery's emails sent and read); its page's path."""
    delivered_order(merchant, order_id, **kw)
    notifications_send_due()
    inbox.envelopes.clear()
    return f"/orders/{MERCHANT_ID}/{order_id}?t={tracking_page_token(MERCHANT_ID, order_id)}"


def _subjects(inbox) -> list[str]:
    notifications_send_due()
    return [message["Subject"] for message in inbox.messages]


def _no_axe_violations(open_page, path: str) -> None:
    page = open_page(path)
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def _no_wider_than_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _ask(page, *, mug: str = "1", reason: str = "Too small", exchange: str = "") -> None:
    page.get_by_label("Blue mug").select_option(mug)
    page.get_by_label("Reason").select_option(label=reason)
    if exchange:
        page.get_by_label("Exchange for (optional)").fill(exchange)
    page.get_by_role("button", name="Confirm the return").click()
    page.wait_for_load_state()


def _agent(signed_in, merchant):
    return signed_in(member_of(merchant, "agent"))


def _open_in_console(agent, return_request: ReturnRequest) -> None:
    agent.get_by_role("link", name="Returns").click()
    agent.get_by_label("Status").select_option("requested")
    agent.get_by_role("button", name="Filter").click()
    agent.get_by_role("link", name=return_request.public_id).click()


def test_a_return_walks_from_the_page_to_received(
    open_page, signed_in, merchant, inbox, screenshot_path
):
    # given a delivered order, and its customer on a phone without JavaScript
    order_path = _delivered(merchant, inbox, "R-1001")
    page = open_page(order_path, javascript=False, **PHONE)
    # when they ask to return one mug
    page.get_by_role("link", name="Return or exchange items").click()
    _no_wider_than_the_screen(page)
    page.screenshot(path=screenshot_path("returns-form-phone.png"), full_page=True)
    _ask(page)
    # then the order page says it is requested, and so does their mailbox
    returns = page.get_by_role("region", name="Returns")
    assert "Return requested" in returns.inner_text()
    assert "Blue mug × 1" in returns.inner_text()
    _no_wider_than_the_screen(page)
    assert _subjects(inbox) == ["We have your return request for order R-1001"]
    request = ReturnRequest.objects.get()
    # when an agent approves it and attaches the sandbox's tracking number
    agent = _agent(signed_in, merchant)
    _open_in_console(agent, request)
    agent.get_by_label("Message to the customer (optional)").fill("Thanks for telling us.")
    agent.get_by_role("button", name="Approve the return").click()
    assert "is now Approved" in agent.locator(".messages").inner_text()
    agent.get_by_label("Return tracking number").fill("SBXDELIVERED7001")
    agent.get_by_role("button", name="Save").click()
    assert "SBXDELIVERED7001" in agent.locator("main").inner_text()
    # then the customer reads how to send it back, on the page and by email
    page.reload()
    returns = page.get_by_role("region", name="Returns")
    assert "Return approved" in returns.inner_text()
    assert "Drop the parcel at any post office with the label." in returns.inner_text()
    assert "SBXDELIVERED7001" in returns.inner_text()
    assert _subjects(inbox)[1:] == [
        "Your return for order R-1001 is approved",
        "Your return for order R-1001 is ready to send",
    ]
    # when the sandbox carrier delivers the parcel back to the merchant
    shipment = Shipment.objects.get(tracking_number="SBXDELIVERED7001")
    Shipment.objects.filter(pk=shipment.pk).update(created_at=timezone.now() - timedelta(hours=2))
    shipment_refresh(shipment_id=shipment.pk)
    # then the page says it was received, and so does the mailbox
    page.reload()
    assert "Return received" in page.get_by_role("region", name="Returns").inner_text()
    assert _subjects(inbox)[3:] == [
        "Fred's Discount City has received your return for order R-1001"
    ]
    page.screenshot(path=screenshot_path("returns-received-phone.png"), full_page=True)
    _no_axe_violations(open_page, order_path)


def test_an_exchange_refused_shows_the_merchants_message(open_page, signed_in, merchant, inbox):
    # given a customer who asks to exchange a mug for a larger one
    order_path = _delivered(merchant, inbox, "R-1002")
    page = open_page(order_path, javascript=False, **PHONE)
    page.get_by_role("link", name="Return or exchange items").click()
    _no_axe_violations(open_page, page.url.removeprefix(page.url.split("/returns/")[0]))
    _ask(page, reason="Arrived damaged", exchange="Large blue mug")
    assert "Exchange for: Large blue mug" in page.get_by_role("region", name="Returns").inner_text()
    # when the agent refuses it
    agent = _agent(signed_in, merchant)
    _open_in_console(agent, ReturnRequest.objects.get())
    agent.get_by_label("Why (the customer reads it)").fill("This mug is out of stock.")
    agent.get_by_role("button", name="Refuse the return").click()
    assert "is now Refused" in agent.locator(".messages").inner_text()
    # then
    page.reload()
    returns = page.get_by_role("region", name="Returns").inner_text()
    assert "Return refused" in returns
    assert "Fred's Discount City says: This mug is out of stock." in returns
    assert _subjects(inbox) == [
        "We have your return request for order R-1002",
        "Your return for order R-1002 was not accepted",
    ]
    assert "This mug is out of stock." in inbox.messages[1].get_body(("plain",)).get_content()


def test_outside_the_window_the_customer_is_told_so(open_page, merchant, inbox):
    # given an order delivered 40 days ago
    order_path = _delivered(merchant, inbox, "R-1003", at=timezone.now() - timedelta(days=40))
    page = open_page(order_path, javascript=False, **PHONE)
    assert page.get_by_role("link", name="Return or exchange items").count() == 0
    # when the customer opens the returns link from an email anyway
    form = open_page(order_path.replace("/orders/", "/returns/"), javascript=False, **PHONE)
    # then
    text = form.locator("main").inner_text()
    assert "Nothing in this order can be returned now." in text
    assert "The return window has closed." in text
    assert form.get_by_role("button", name="Confirm the return").count() == 0
    assert not ReturnRequest.objects.exists()


def test_a_second_request_for_the_same_units_is_refused_clearly(open_page, merchant, inbox):
    # given the form open in two tabs
    order_path = _delivered(merchant, inbox, "R-1004")
    returns_path = order_path.replace("/orders/", "/returns/")
    first = open_page(returns_path, javascript=False, **PHONE)
    second = open_page(returns_path, javascript=False, **PHONE)
    # when both mugs are asked for in the first, then one more in the second
    _ask(first, mug="2")
    _ask(second, mug="1")
    # then the second tab says why, next to the item
    alert = second.get_by_role("alert")
    assert alert.inner_text() == "Every delivered Blue mug is already in a return request."
    assert "Already in a return request." in second.locator("main").inner_text()
    _no_wider_than_the_screen(second)
    assert ReturnRequest.objects.count() == 1
    assert _subjects(inbox) == ["We have your return request for order R-1004"]
