"""Data migrations run on rows stored before them, as a deployment finds them."""

import pytest

from ingest.tests.test_channels_shopify import SECRET, deliver, sample
from orders.models import Order
from platforms.models import PlatformConnection
from tests.migrations import migrate_to

BEFORE_THE_FOLD = [("ingest", "0004_poll_mailboxes_schedule"), ("platforms", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_shopify_shops_become_shopify_connections_and_their_webhooks_keep_coming(
    client, merchant, other_merchant
):
    # given: two shops stored before the fold, one switched off
    old_apps = migrate_to(BEFORE_THE_FOLD)
    try:
        shops = old_apps.get_model("ingest", "ShopifyShop").objects
        shops.create(merchant_id=merchant.pk, shop_domain="fred.myshopify.com",
                     webhook_secret=SECRET)  # fmt: skip
        shops.create(merchant_id=other_merchant.pk, shop_domain="other.myshopify.com",
                     webhook_secret="b-secret", is_active=False)  # fmt: skip
    finally:
        # when
        migrate_to()
    # then: one connection each, as they were
    assert sorted(PlatformConnection.objects.values_list(
        "merchant__merchant_id", "name", "kind", "base_url", "shop_domain", "webhook_secret",
        "is_active", "secret",
    )) == [
        ("FDC-01-12345", "fred.myshopify.com", "shopify", "https://fred.myshopify.com",
         "fred.myshopify.com", SECRET, True, ""),
        ("OTH-02-54321", "other.myshopify.com", "shopify", "https://other.myshopify.com",
         "other.myshopify.com", "b-secret", False, ""),
    ]  # fmt: skip
    # and Fred's store's next webhook is taken, for Fred
    assert deliver(client, "orders/create", sample("orders/create")).status_code == 200
    assert Order.objects.get().merchant == merchant
