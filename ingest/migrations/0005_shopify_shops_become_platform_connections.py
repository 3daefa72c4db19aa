# A Shopify store has one home: a platform connection of kind `shopify` (issue 22). Every shop
# becomes one (its name and domain the shop's domain, its webhook secret kept, switched on or off
# as it was), so its webhooks keep arriving; then the shops' table goes.

from django.db import migrations


def shops_to_connections(apps, schema_editor):
    shops = apps.get_model("ingest", "ShopifyShop").objects.order_by("pk")
    connections = apps.get_model("platforms", "PlatformConnection").objects
    for shop in shops:
        domain = shop.shop_domain.strip().lower()
        existing = connections.filter(kind="shopify", shop_domain=domain).first()
        if existing is not None and existing.merchant_id != shop.merchant_id:
            raise RuntimeError(
                f"Shopify shop {domain} (merchant pk {shop.merchant_id}) is also another "
                f"merchant's connection (pk {existing.pk}); remove one and migrate again."
            )
        if existing is not None:  # made on the connections page already: the secret kept
            existing.webhook_secret = existing.webhook_secret or shop.webhook_secret
            existing.save(update_fields=["webhook_secret"])
            continue
        name = domain[:100]
        if connections.filter(merchant_id=shop.merchant_id, name=name).exists():
            name = f"{domain[:90]} (Shopify)"
        connections.create(
            merchant_id=shop.merchant_id, name=name, kind="shopify",
            base_url=f"https://{domain}", shop_domain=domain,
            webhook_secret=shop.webhook_secret, is_active=shop.is_active,
        )  # fmt: skip


def connections_to_shops(apps, schema_editor):
    shops = apps.get_model("ingest", "ShopifyShop").objects
    connections = apps.get_model("platforms", "PlatformConnection").objects
    for connection in connections.filter(kind="shopify").exclude(shop_domain=""):
        shops.create(
            merchant_id=connection.merchant_id, shop_domain=connection.shop_domain,
            webhook_secret=connection.webhook_secret, is_active=connection.is_active,
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0004_poll_mailboxes_schedule"),
        ("platforms", "0002_shopify_shop_domain"),
    ]

    operations = [
        migrations.RunPython(shops_to_connections, connections_to_shops),
        migrations.DeleteModel(name="ShopifyShop"),
    ]
