"""Trackers (API.md "POST /api/v1/trackers"): something shipped outside the OMS flow — the
merchant's own vans, a local courier, a marketplace — that still gets a page and notifications.

A tracker names a carrier or one of the merchant's delivery providers. With a carrier and a
tracking number it follows a Shipment like any other, so the poller and the notifications need
nothing new; with a provider we cannot poll, it shows what the merchant sends.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from carriers.detection import normalize_tracking_number
from carriers.vocabulary import CarrierCode
from flextracker.errors import InvalidData, MissingData
from merchants.models import DeliveryProvider, Merchant, PickupLocation
from merchants.selectors import tracked_carriers
from orders.models import Order, Shipment, Tracker, TrackerType
from orders.services.orders import (
    ADDRESS_FIELDS,
    Outcome,
    carrier_not_tracked_warning,
    carrier_resolve,
)

INVALID = "INVALID_TRACKER_DATA"
MISSING = "MISSING_TRACKER_DATA"


@dataclass(frozen=True, slots=True)
class TrackerInput:
    """A tracker's validated fields. `provider` and `carrier` are the two names API.md accepts
    for the same thing (a carrier code or a configured provider's name); send one."""

    external_id: str
    tracking_number: str = ""
    provider: str = ""
    carrier: str = ""
    type: str = TrackerType.SHIPPING
    group_id: str = ""
    order_id: str = ""
    order_attributes: dict = field(default_factory=dict)
    order_value: Decimal | None = None
    pickup_starts_at: datetime | None = None  # None: as soon as possible
    pickup_ends_at: datetime | None = None
    delivery_starts_at: datetime | None = None
    delivery_ends_at: datetime | None = None
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    delivery_address: dict[str, str] = field(default_factory=dict)  # keys: ADDRESS_FIELDS
    apartment_number: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    pickup_instructions: str = ""
    delivery_instructions: str = ""
    barcodes: Sequence[str] = ()
    items: Sequence[dict] = ()
    locale: str = ""
    created_date: datetime | None = None
    location_external_id: str = ""
    pickup: dict | None = None  # seed 001's `pickup` object, stored as sent
    packages: Sequence[dict] = ()
    currency_code: str = ""

    @property
    def has_delivery_address(self) -> bool:
        located = self.latitude is not None and self.longitude is not None
        return located or any(self.delivery_address.get(name) for name in ADDRESS_FIELDS)


@dataclass(frozen=True, slots=True)
class _Carriage:
    """Who carries the tracker: `provider` as stored, the carrier code if it is a carrier, and
    the tracking number (normalized when a carrier's)."""

    provider: str
    carrier: str
    tracking_number: str

    @property
    def shipment_key(self) -> tuple[str, str] | None:
        """(carrier, number) of the Shipment it follows: a carrier's; or, for a delivery
        provider's tracking id, an `other` one (never polled) that the merchant moves by
        reporting events (POST /tracking/{n}/events), so its contact hears of them too."""
        if self.carrier and self.tracking_number:
            return self.carrier, self.tracking_number
        number = normalize_tracking_number(self.tracking_number)
        return (CarrierCode.OTHER, number) if self.provider and number else None


@transaction.atomic
def tracker_create_or_update(*, merchant: Merchant, data: TrackerInput) -> Outcome:
    """Creates the tracker or, for a known `external_id`, replaces its fields in place.

    A tracking number links it to the merchant's Shipment for that number and carrier (`other`
    for a delivery provider's; created when absent, so a second tracker with the same number
    follows the same package). Nothing is written when a value is refused.
    """
    _tracker_input_check(data)
    order = _order_for_tracker(merchant, data.order_id)
    carriage = _carriage_resolve(merchant, data)
    location = _location_for_tracker(merchant, data.location_external_id)
    tracker, created = _tracker_lock_or_create(merchant, data.external_id)
    warnings = []
    tracker.shipment = None
    if carriage.shipment_key:
        carrier, number = carriage.shipment_key
        tracked = carrier in tracked_carriers(merchant)
        tracker.shipment = _shipment_get_or_create(
            merchant, order, carrier, number, tracked=tracked
        )
        if carriage.carrier and not tracked:
            warnings.append(carrier_not_tracked_warning(carrier))
    tracker.order = order
    tracker.location = location
    tracker.provider = carriage.provider
    tracker.tracking_number = carriage.tracking_number
    _tracker_fields_set(tracker, data)
    tracker.save()
    return Outcome(tracker, created, warnings)


def _tracker_input_check(data: TrackerInput) -> None:
    if data.type == TrackerType.DELIVERY and not data.has_delivery_address:
        raise MissingData(
            "A delivery tracker needs the address to deliver to.",
            code=MISSING,
            fields={"deliveryAddress": ["Required when type is delivery."]},
        )
    picked_up = data.type in (TrackerType.DELIVERY, TrackerType.PICKUP)
    if picked_up and not (data.location_external_id or data.pickup):
        raise MissingData(
            f"A {data.type} tracker needs where it is picked up.",
            code=MISSING,
            fields={"locationExternalId": [f"Send locationExternalId or pickup ({data.type})."]},
        )
    errors = {}
    windows = (
        ("pickupTime", data.pickup_starts_at, data.pickup_ends_at),
        ("deliveryTime", data.delivery_starts_at, data.delivery_ends_at),
    )
    for name, starts_at, ends_at in windows:
        if starts_at is not None and ends_at is not None and ends_at < starts_at:
            errors[f"{name}.endsAt"] = ["Must not be before startsAt."]
    if errors:
        raise InvalidData("A time window ends before it starts.", code=INVALID, fields=errors)


def _order_for_tracker(merchant: Merchant, order_id: str) -> Order | None:
    if not order_id:
        return None
    order = Order.objects.filter(merchant=merchant, order_id=order_id).first()
    if order is None:
        raise InvalidData(
            f"Order {order_id} was not found.",
            code=INVALID,
            fields={"orderId": ["No order with this id for this merchant."]},
        )
    return order


def _location_for_tracker(merchant: Merchant, external_id: str) -> PickupLocation | None:
    if not external_id:
        return None
    location = PickupLocation.objects.filter(merchant=merchant, external_id=external_id).first()
    if location is None:
        raise InvalidData(
            f"Pickup location '{external_id}' is not configured for this merchant.",
            code=INVALID,
            fields={"locationExternalId": ["No pickup location with this id for this merchant."]},
        )
    return location


def _carriage_resolve(merchant: Merchant, data: TrackerInput) -> _Carriage:
    """A carrier code (any case) wins; else a provider configured for the merchant (any case);
    with neither, the tracking number must identify its carrier by itself."""
    field_name, name = ("carrier", data.carrier) if data.carrier else ("provider", data.provider)
    name = name.strip()
    raw_number = data.tracking_number.strip()
    if name.lower() in CarrierCode.values:
        carrier = name.lower()
    elif name:
        # A provider we cannot poll: its tracking ids are the merchant's own, kept as sent.
        return _Carriage(_configured_provider(merchant, name, field_name), "", raw_number)
    elif raw_number:
        carrier = _carrier_detect(merchant, normalize_tracking_number(raw_number))
    else:
        return _Carriage("", "", "")
    number = normalize_tracking_number(raw_number)
    if raw_number and not number:
        raise InvalidData(
            "The tracking number has no letters or digits.",
            code=INVALID,
            fields={"trackingNumber": ["Not a tracking number."]},
        )
    return _Carriage(carrier, carrier, number)


def _configured_provider(merchant: Merchant, name: str, field_name: str) -> str:
    names = list(
        DeliveryProvider.objects.filter(merchant=merchant, name__iexact=name).values_list(
            "name", flat=True
        )
    )
    if not names:
        raise InvalidData(
            f"Provider '{name}' is not configured for this merchant.",
            code=INVALID,
            fields={
                field_name: [
                    f"Use a carrier code ({', '.join(CarrierCode.values)}) or the name of a"
                    " delivery provider configured for this merchant."
                ]
            },
        )
    return name if name in names else names[0]


def _carrier_detect(merchant: Merchant, tracking_number: str) -> str:
    try:
        return carrier_resolve(carrier="", tracking_number=tracking_number, merchant=merchant)
    except InvalidData as error:  # the same explanation, under the tracker's error code
        raise InvalidData(
            error.message, code=INVALID, fields=error.fields, details=error.details
        ) from error


def _tracker_lock_or_create(merchant: Merchant, external_id: str) -> tuple[Tracker, bool]:
    """The tracker row, locked for this transaction. Two requests racing to create it meet at
    the unique constraint: the loser's insert fails in a savepoint and it reads the winner's."""
    lookup = {"merchant": merchant, "external_id": external_id}
    tracker = Tracker.objects.select_for_update().filter(**lookup).first()
    if tracker is not None:
        return tracker, False
    try:
        with transaction.atomic():
            return Tracker.objects.create(**lookup), True
    except IntegrityError:
        return Tracker.objects.select_for_update().get(**lookup), False


def _shipment_get_or_create(
    merchant: Merchant, order: Order | None, carrier: str, tracking_number: str, *, tracked: bool
) -> Shipment:
    """The merchant's shipment for this carrier and number; an existing one is reused as it is
    (its order included), a new one is polled at the next round when we can poll its carrier."""
    lookup = {"merchant": merchant, "carrier": carrier, "tracking_number": tracking_number}
    shipment = Shipment.objects.filter(**lookup).first()
    if shipment is not None:
        return shipment
    try:
        with transaction.atomic():
            return Shipment.objects.create(
                order=order, next_check_at=timezone.now() if tracked else None, **lookup
            )
    except IntegrityError:
        return Shipment.objects.get(**lookup)


def _tracker_fields_set(tracker: Tracker, data: TrackerInput) -> None:
    """Everything the merchant sent replaces what was there (a repost is a full update)."""
    tracker.type = data.type
    tracker.group_id = data.group_id
    tracker.order_attributes = data.order_attributes
    tracker.order_value = data.order_value
    tracker.pickup_starts_at = data.pickup_starts_at
    tracker.pickup_ends_at = data.pickup_ends_at
    tracker.delivery_starts_at = data.delivery_starts_at
    tracker.delivery_ends_at = data.delivery_ends_at
    tracker.contact_name = data.contact_name
    tracker.contact_phone = data.contact_phone
    tracker.contact_email = data.contact_email
    for name in ADDRESS_FIELDS:
        setattr(tracker, name, data.delivery_address.get(name, ""))
    tracker.apartment_number = data.apartment_number
    tracker.latitude = data.latitude
    tracker.longitude = data.longitude
    tracker.pickup_instructions = data.pickup_instructions
    tracker.delivery_instructions = data.delivery_instructions
    tracker.barcodes = list(data.barcodes)
    tracker.items = list(data.items)
    tracker.locale = data.locale
    tracker.created_date = data.created_date
    tracker.location_external_id = data.location_external_id
    tracker.pickup = data.pickup
    tracker.packages = list(data.packages)
    tracker.currency_code = data.currency_code
