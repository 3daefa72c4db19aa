"""The admin's "Test connection": one read per kind that proves the URL and credentials work,
answering a short description of what answered ("Shop: Fred's Discount City") or raising
PlatformUnavailable / PlatformRefused with a message fit for the merchant."""

from collections.abc import Callable

from platforms.clients.magento import magento_check
from platforms.clients.rest import rest_check
from platforms.clients.shopify import shopify_check
from platforms.clients.woocommerce import woocommerce_check
from platforms.models import PlatformConnection, PlatformKind

Check = Callable[[PlatformConnection], str]

CHECKS: dict[str, Check] = {
    PlatformKind.MAGENTO: magento_check,
    PlatformKind.SHOPIFY: shopify_check,
    PlatformKind.WOOCOMMERCE: woocommerce_check,
    PlatformKind.REST_PULL: rest_check,
}
