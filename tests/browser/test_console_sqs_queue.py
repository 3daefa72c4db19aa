"""flexEngage staff create an SQS queue for the demo merchant from its page in the console, in
headless Chromium, with AWS played by moto (in this process, so the live server's calls too)."""

import json

import boto3
import pytest
from moto import mock_aws

from merchants.models import Merchant
from tests.browser.chromium import needs_chromium
from tests.browser.logins import log_in

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/ft-test-FDC-01-12345-orders"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:ft-test-FDC-01-12345-orders"


@pytest.fixture
def sqs(monkeypatch, settings):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    settings.FLEXTRACKER_SQS_PREFIX = "ft-test"
    settings.FLEXTRACKER_SQS_REGION = "eu-west-1"
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


def test_staff_create_an_sqs_queue_from_the_merchants_page(open_page, staff, sqs, screenshot_path):
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    change = f"/admin/merchants/merchant/{merchant.pk}/change/"
    page = open_page(f"/admin/login/?next={change}")
    log_in(page, staff.username, "pw")
    page.wait_for_url(f"**{change}")
    # when
    page.get_by_role("link", name="Create an SQS queue for this merchant").click()
    page.get_by_role("button", name="Create the queue").click()
    # then
    page.locator("#queue-url").wait_for()
    page.screenshot(path=screenshot_path("console-sqs-queue-created.png"), full_page=True)
    assert page.locator("#queue-url").inner_text() == QUEUE_URL
    assert page.locator("#queue-region").inner_text() == "eu-west-1"
    policy = json.loads(page.locator("#oms-policy").inner_text())
    assert [statement["Resource"] for statement in policy["Statement"]] == [QUEUE_ARN]
    assert sorted(sqs.list_queues()["QueueUrls"]) == [QUEUE_URL, f"{QUEUE_URL}-dlq"]
