"""A customer's "Check for updates" on the page: the carrier asked now through the console's
bounded refresh, at most every few minutes per package, never through another's link."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from orders.links import tracking_page_url
from orders.models import Shipment
from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def package(merchant, settings):
    settings.SANDBOX_MINUTES_PER_STEP = 10
    order = create_order(merchant, "1001")
    shipment = ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1)).instance
    # shipped 25 minutes ago: the sandbox has picked it up and it left the first facility
    Shipment.objects.filter(pk=shipment.pk).update(
        created_at=timezone.now() - timedelta(minutes=25)
    )
    return order, shipment


def _page(order) -> str:
    parts = urlsplit(tracking_page_url(order))
    return f"{parts.path}?{parts.query}"


def test_the_page_offers_the_check_and_asking_brings_the_carriers_news(client, package):
    # given
    order, shipment = package
    page = client.get(_page(order))
    assert b'name="check_updates" value="SBXDELIVERED0001"' in page.content
    # when
    answer = client.post(_page(order), {"check_updates": "SBXDELIVERED0001"})
    # then: back to the page, on that package, with what the carrier said
    assert answer.status_code == 302
    assert answer["Location"].endswith("#package-SBXDELIVERED0001")
    assert "trackingId=SBXDELIVERED0001" in answer["Location"]
    shipment.refresh_from_db()
    assert (shipment.status, shipment.status_detail) == ("in_transit", "departed_facility")
    assert shipment.last_checked_at is not None
    shown = client.get(answer["Location"]).content.decode()
    assert "In transit" in shown and "Last checked at" in shown


def test_a_second_press_within_five_minutes_does_not_ask_the_carrier_again(client, package):
    # given: asked 2 minutes ago
    order, shipment = package
    asked = timezone.now() - timedelta(minutes=2)
    Shipment.objects.filter(pk=shipment.pk).update(last_checked_at=asked)
    # when
    client.post(_page(order), {"check_updates": "SBXDELIVERED0001"})
    # then: nothing asked, nothing changed
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_checked_at) == ("unknown", asked)
    assert not shipment.events.exists()


def test_a_delivered_package_offers_no_check(client, merchant, package):
    # given
    order, shipment = package
    Shipment.objects.filter(pk=shipment.pk).update(status="delivered")
    # when
    page = client.get(_page(order))
    client.post(_page(order), {"check_updates": "SBXDELIVERED0001"})
    # then
    assert b"check_updates" not in page.content
    shipment.refresh_from_db()
    assert shipment.last_checked_at is None


def test_a_number_not_of_this_order_asks_nothing(client, merchant, other_merchant, package):
    # given: another merchant's package, named on this order's page
    order, _shipment = package
    create_order(other_merchant, "1001")
    theirs = ship(other_merchant, "1001", "SBXDELIVERED0002", ("MUG", 1)).instance
    # when
    answer = client.post(_page(order), {"check_updates": "SBXDELIVERED0002"})
    # then
    assert answer.status_code == 302
    theirs.refresh_from_db()
    assert theirs.last_checked_at is None


def test_without_the_signed_link_a_verifying_merchant_asks_who_you_are_first(
    client, merchant, package
):
    # given
    _order, shipment = package
    merchant.verify_customer = True
    merchant.save()
    # when: the bare link, without its signature
    answer = client.post(
        f"/orders/{merchant.merchant_id}/1001", {"check_updates": "SBXDELIVERED0001"}
    )
    # then: the gate, nothing asked
    assert answer.status_code == 403
    shipment.refresh_from_db()
    assert shipment.last_checked_at is None
