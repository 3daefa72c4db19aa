"""Track any number (API.md "Track any number", seed 003): a number the merchant never sent is
followed from the first time it is asked — a shipment with no order, polled like any other — and its
carrier asked at once, for a few seconds at most. The same number asked again is the same shipment
(its unique constraint), however many ask at once."""

from django.utils import timezone

from carriers.detection import normalize_tracking_number
from carriers.vocabulary import CarrierCode
from flextracker.errors import InvalidData
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.models import Shipment
from orders.services import carrier_detect
from tracking.polling import shipment_refresh
from tracking.representation import tracking_not_found

# How long a lookup waits for the carrier; a slower answer is read by the next poll.
ASK_SECONDS = 4


def shipment_follow(
    *, merchant: Merchant, tracking_number: str, carrier: str = "", ask_now: bool = True
) -> Shipment:
    """The merchant's shipment for this number, followed from now on (NotFound when its carrier
    can be neither given nor detected, or cannot be polled; InvalidData naming the candidates
    when several carriers fit). Without `ask_now` (inside a transaction: no network call) the
    poller asks the carrier at its next round."""
    number = normalize_tracking_number(tracking_number)
    carrier = _pollable_carrier(merchant, number, carrier)
    shipment, created = Shipment.objects.get_or_create(
        merchant=merchant, carrier=carrier, tracking_number=number,
        defaults={"next_check_at": timezone.now()},
    )  # fmt: skip
    if created and ask_now:
        shipment_refresh(shipment_id=shipment.pk, wait_seconds=ASK_SECONDS)
    return shipment


def _pollable_carrier(merchant: Merchant, number: str, carrier: str) -> str:
    if carrier and carrier not in CarrierCode.values:
        raise InvalidData(
            f"Unknown carrier '{carrier}'.", code="INVALID_TRACKING_DATA",
            fields={"carrier": [f"Use one of: {', '.join(CarrierCode.values)}."]},
        )  # fmt: skip
    if not carrier:
        carrier = _detected(merchant, number)
    if carrier not in tracked_carriers(merchant):
        raise tracking_not_found(number, carrier)
    return carrier


def _detected(merchant: Merchant, number: str) -> str:
    chosen, candidates = carrier_detect(tracking_number=number, merchant=merchant)
    if chosen:
        return chosen
    if not candidates:
        raise tracking_not_found(number)
    raise InvalidData(
        f"Tracking number {number} could belong to several carriers: {', '.join(candidates)}. "
        "Ask again with `carrier`.",
        code="INVALID_TRACKING_DATA",
        fields={"carrier": ["Required: several carriers use this number's format."]},
        details={"candidates": candidates},
    )
