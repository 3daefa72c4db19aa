"""A merchant admin switches a webhook subscription we disabled back on, in the console, in
headless Chromium on the demo data."""

import pytest
from django.utils import timezone

from merchants.models import Merchant
from merchants.tests.factories import member_of
from notifications.models import WebhookEndpoint
from tests.browser.chromium import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

URL = "https://hooks.example.com/tracking"


@pytest.fixture
def disabled_endpoint(demo) -> WebhookEndpoint:
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    # Made as it is after 72 hours of failures (the service's own path is tested elsewhere).
    return WebhookEndpoint.objects.create(
        merchant=merchant, url=URL, event_types=["tracking.delivered"], secret="whsec_test",
        is_active=False, disabled_at=timezone.now(), consecutive_failures=120,
        disabled_reason="Every delivery failed for 72 hours (since 2026-11-20 12:00 UTC).",
        failing_since=timezone.now(), disable_warned_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def admin_page(signed_in, disabled_endpoint):
    endpoints = "/admin/notifications/webhookendpoint/"
    admin = member_of(disabled_endpoint.merchant, "admin")
    return signed_in(admin, f"/admin/login/?next={endpoints}", lands_on=f"**{endpoints}")


def test_a_merchant_admin_switches_a_disabled_webhook_back_on(
    admin_page, disabled_endpoint, screenshot_path
):
    page = admin_page
    # given: the subscription is listed as off
    row = page.locator("#result_list tbody tr", has_text=URL)
    assert row.locator("img[alt=False]").count() == 1
    # when
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label="Switch back on (resume deliveries)")
    page.get_by_role("button", name="Go").click()
    # then
    page.get_by_text(f"Deliveries to {URL} resume.").wait_for()
    page.screenshot(path=screenshot_path("console-webhook-enabled.png"), full_page=True)
    assert page.locator("#result_list tbody tr", has_text=URL).locator("img[alt=True]").count() == 1
    disabled_endpoint.refresh_from_db()
    assert (disabled_endpoint.is_active, disabled_endpoint.disabled_reason) == (True, "")
    assert (disabled_endpoint.failing_since, disabled_endpoint.disable_warned_at) == (None, None)
