import pytest
from django.urls import reverse

from merchants.tests.factories import member_of
from orders.tests.factories import create_order, ship
from tracking.models import TrackingEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipment(merchant):
    create_order(merchant, "1001")
    return ship(merchant, "1001", "SBXDELIVERED1", ("MUG", 1)).instance


def _refresh(client, shipment):
    return client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "refresh_selected", "_selected_action": [shipment.pk]},
        follow=True,
    ).content.decode()


def test_an_agent_refreshes_a_shipment_from_the_console(client, merchant, shipment):
    client.force_login(member_of(merchant, "agent"))
    page = _refresh(client, shipment)
    assert "SBXDELIVERED1: Label created" in page
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 1
    assert "less than a minute ago" in _refresh(client, shipment)


def test_another_merchants_agent_cannot_refresh_it(client, other_merchant, shipment):
    client.force_login(member_of(other_merchant, "agent"))
    _refresh(client, shipment)
    assert not TrackingEvent.objects.exists()
