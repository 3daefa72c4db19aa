"""What the store platforms' payloads say about shipping, read alike for each of them (Shopify,
WooCommerce): the carrier a store names, and an order's units dealt out to its packages when
the store does not say which package carries what."""

from carriers.detection import detect_carrier
from carriers.vocabulary import CarrierCode

# The names the platforms give carriers (Shopify's `tracking_company`; WooCommerce's Shipment
# Tracking provider, its slug's dashes read as spaces), lower case → our carrier code. Any other
# name: the number decides (detection), or "other" when it cannot.
CARRIER_NAMES = {
    "ups": CarrierCode.UPS,
    "fedex": CarrierCode.FEDEX,
    "usps": CarrierCode.USPS,
    "dhl": CarrierCode.DHL,
    "dhl express": CarrierCode.DHL,
    "dhl ecommerce": CarrierCode.DHL,
    "dhl us": CarrierCode.DHL,
    "canada post": CarrierCode.CANADA_POST,
}


def carrier_named(name: str, number: str) -> str:
    """Our carrier for a store's carrier name: "" when the number's format tells it (the
    shipment's own detection then decides), "other" when nothing does."""
    if carrier := CARRIER_NAMES.get(" ".join(name.replace("-", " ").lower().split())):
        return carrier
    return "" if detect_carrier(number).carrier else CarrierCode.OTHER


def units_dealt(units: list[tuple[str, int]], packages: int) -> list[list[dict]]:
    """The units of each line item dealt to the packages in turn: [(a, 3), (b, 1)] over two
    packages → [a×2], [a×1, b×1]; no package, nothing dealt."""
    if packages < 1:
        return []
    dealt: list[dict[str, int]] = [{} for _ in range(packages)]
    turn = 0
    for item_id, quantity in units:
        for _ in range(quantity):
            dealt[turn][item_id] = dealt[turn].get(item_id, 0) + 1
            turn = (turn + 1) % packages
    return [[{"itemId": i, "quantity": q} for i, q in package.items()] for package in dealt]
