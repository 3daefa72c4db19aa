"""The merchant dashboard as an agent of the demo merchant sees it, in headless Chromium, on a month
of demo-like shipments and messages. The screenshot lands in tests/screenshots/ for a human."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import Merchant
from merchants.tests.factories import member_of
from notifications.models import Notification
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tests.browser.chromium import needs_chromium
from tests.browser.logins import log_in

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

CARRIERS = {"ups": (1.5, 4), "fedex": (1, 3), "usps": (2, 6), "dhl": (3, 7)}  # transit days
STATUSES = (
    ["delivered"] * 22 + ["in_transit"] * 8 + ["out_for_delivery"] * 3 + ["pre_transit"] * 3
    + ["exception", "failed_attempt", "return_to_sender"]
)  # fmt: skip


def a_month_of_shipments(merchant: Merchant) -> None:
    chance, now = random.Random(7), timezone.now()
    for index, status in enumerate(STATUSES):
        carrier = chance.choice(list(CARRIERS))
        shipped_at = now - timedelta(days=chance.uniform(1, 28))
        order_id = f"FDC-2{index:03d}"
        create_order(merchant, order_id)
        shipment = ship(merchant, order_id, f"DEMO{index:06d}", ("MUG", 1), carrier=carrier)
        fields = {"status": status, "shipped_at": shipped_at,
                  "last_event_at": shipped_at + timedelta(hours=chance.uniform(2, 30)),
                  "estimated_delivery_date": (shipped_at + timedelta(days=4)).date()}  # fmt: skip
        if status == "delivered":
            fields["delivered_at"] = shipped_at + timedelta(days=chance.uniform(*CARRIERS[carrier]))
        if status == "exception":
            fields.update(status_detail="weather_delay", status_description="Storm at hub")
        Shipment.objects.filter(pk=shipment.instance.pk).update(**fields)
    Notification.objects.filter(merchant=merchant).delete()
    for day in range(30):
        for channel, volume in (("email", 12), ("sms", 4)):
            for number in range(chance.randint(volume // 2, volume)):
                failed = chance.random() < 0.08
                notification = Notification.objects.create(
                    merchant=merchant, channel=channel, recipient=f"{day}-{number}@example.com",
                    trigger="shipped", dedupe_key=f"demo:{day}:{number}",
                    status="failed" if failed else "sent",
                )  # fmt: skip
                created_at = now - timedelta(days=day, hours=chance.uniform(0, 8))
                Notification.objects.filter(pk=notification.pk).update(created_at=created_at)


def test_an_agent_logs_in_and_reads_the_dashboard_with_its_charts(
    open_page, screenshot_path, settings
):
    # given
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    agent = member_of(merchant, "agent")
    a_month_of_shipments(merchant)

    # when
    page = open_page("/admin/login/?next=/console/dashboard")
    log_in(page, agent.username)
    page.wait_for_url("**/console/dashboard")

    # then
    assert page.locator("h1").inner_text() == "Dashboard · Fred's Discount City"
    shipments = Shipment.objects.filter(merchant=merchant).count()
    assert page.locator("dd[data-number=shipments]").inner_text() == str(shipments)
    charts = page.locator("svg.chart")
    assert charts.count() == 4  # statuses, transit, email, SMS
    for chart in charts.all():
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 50
    status_chart = page.get_by_role("img", name="Shipments by status")
    assert "22 (" in status_chart.text_content()  # the delivered bar's value, written on it
    page.screenshot(path=screenshot_path("console-dashboard.png"), full_page=True)
