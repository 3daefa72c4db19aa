"""Writing back to a merchant's platform, one function per kind: (connection, payload) → what
the platform calls what we wrote (an id, or a short description), or PlatformUnavailable /
PlatformRefused. Called by the outbox's `platform` channel (notifications/channels/platform.py),
which owns retries, backoff and the attempt log.

The payload is the outbox row's: `status`, `previousStatus`, `tracking` (the shipment as webhooks
show it: orders/representation.py `shipment_json`), `platformOrder` (the order's
PLATFORM_ORDER_ATTRIBUTE), `sourceReference` (the platform's id of the shipment: a Shopify
fulfillment), `orderDelivered` (every shipment of the order delivered), `writeNote` (the
status is one the merchant chose to write) and `completeOrder` (mark the order completed).
"""

from collections.abc import Callable

from platforms.clients.magento import magento_write
from platforms.clients.shopify import shopify_write
from platforms.clients.woocommerce import woocommerce_write
from platforms.models import PlatformConnection, PlatformKind

Writer = Callable[[PlatformConnection, dict], str]

WRITERS: dict[str, Writer] = {
    PlatformKind.MAGENTO: magento_write,
    PlatformKind.SHOPIFY: shopify_write,
    PlatformKind.WOOCOMMERCE: woocommerce_write,
}
