"""The console's store connections: secrets are write-only, each merchant sees only its own."""

import pytest
from django.urls import reverse

from merchants.tests.factories import member_of
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db


def _form(merchant, **overrides) -> dict:
    values = {
        "merchant": merchant.pk, "name": "Store", "kind": "woocommerce",
        "base_url": "https://shop.example.com/", "username": "ck_live", "secret": "cs_secret_1",
        "webhook_secret": "hook-secret-1", "auth": "", "pull_every_minutes": "15",
        "cursor_kind": "updated_since", "records_path": "", "page_size": "100",
        "max_pages": "20", "is_active": "on", "write_back_statuses": ["delivered"],
    }  # fmt: skip
    return {**values, **overrides}


def test_staff_connect_a_store_and_its_secrets_are_never_shown_back(
    staff_client, merchant, fake_dns
):
    # given
    fake_dns({"shop.example.com": "93.184.216.34"})
    # when
    response = staff_client.post(reverse("admin:platforms_platformconnection_add"), _form(merchant))
    # then
    assert response.status_code == 302
    connection = PlatformConnection.objects.get(merchant=merchant)
    assert (connection.base_url, connection.secret, connection.webhook_secret) == (
        "https://shop.example.com", "cs_secret_1", "hook-secret-1",
    )  # fmt: skip
    assert connection.write_back_statuses == ["delivered"]
    page = staff_client.get(
        reverse("admin:platforms_platformconnection_change", args=[connection.pk])
    )
    assert b"cs_secret_1" not in page.content and b"hook-secret-1" not in page.content
    # where WooCommerce must post its webhooks
    assert f"/hooks/woocommerce/{connection.public_id}".encode() in page.content


def test_a_blank_secret_keeps_the_stored_one(staff_client, merchant, fake_dns):
    # given
    fake_dns({"shop.example.com": "93.184.216.34"})
    staff_client.post(reverse("admin:platforms_platformconnection_add"), _form(merchant))
    connection = PlatformConnection.objects.get(merchant=merchant)
    # when
    url = reverse("admin:platforms_platformconnection_change", args=[connection.pk])
    response = staff_client.post(url, _form(merchant, secret="", webhook_secret="", name="Woo"))
    # then
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.secret, connection.webhook_secret) == (
        "Woo", "cs_secret_1", "hook-secret-1",
    )  # fmt: skip


def test_a_store_address_inside_our_network_is_refused(staff_client, merchant, fake_dns):
    # given
    fake_dns({"shop.example.com": "10.0.0.5"})
    # when
    response = staff_client.post(reverse("admin:platforms_platformconnection_add"), _form(merchant))
    # then
    assert response.status_code == 200
    assert "base_url" in response.context["adminform"].form.errors
    assert not PlatformConnection.objects.exists()


def test_a_woocommerce_connection_needs_its_webhook_secret(staff_client, merchant, fake_dns):
    fake_dns({"shop.example.com": "93.184.216.34"})
    response = staff_client.post(
        reverse("admin:platforms_platformconnection_add"), _form(merchant, webhook_secret="")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["webhook_secret"] == [
        "Required: WooCommerce signs every webhook with it."
    ]


def test_a_merchant_user_sees_only_their_own_connections(client, merchant, other_merchant):
    # given
    PlatformConnection.objects.create(merchant=merchant, name="Fred's", kind="magento",
                                      base_url="https://fred.example", secret="t1")  # fmt: skip
    theirs = PlatformConnection.objects.create(merchant=other_merchant, name="Theirs",
                                               kind="magento", base_url="https://o.example",
                                               secret="t2")  # fmt: skip
    client.force_login(member_of(merchant, "admin"))
    # when
    listing = client.get(reverse("admin:platforms_platformconnection_changelist"))
    opened = client.get(reverse("admin:platforms_platformconnection_change", args=[theirs.pk]))
    # then
    assert [c.name for c in listing.context["cl"].result_list] == ["Fred's"]
    assert opened.status_code == 302  # Django's "does not exist" redirect to the admin index
