"""The normalized tracking model of TRACKING.md: every layer above the carrier adapters speaks it.

TextChoices here are plain enums with labels (no model, no database): the pure carrier library and
every app import them from this one place.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    PRE_TRANSIT = "pre_transit", _("Label created")
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    AVAILABLE_FOR_PICKUP = "available_for_pickup", _("Ready for pickup")
    DELIVERED = "delivered", _("Delivered")
    FAILED_ATTEMPT = "failed_attempt", _("Delivery attempted")
    EXCEPTION = "exception", _("Exception")
    RETURN_TO_SENDER = "return_to_sender", _("Returning to sender")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Tracking expired")


TERMINAL_STATUSES = frozenset(
    {Status.DELIVERED, Status.RETURN_TO_SENDER, Status.CANCELLED, Status.EXPIRED}
)
# Off course: the customer page shows it as a problem, and no estimate (the carrier's or ours).
OFF_COURSE_STATUSES = frozenset(
    {Status.EXCEPTION, Status.FAILED_ATTEMPT, Status.RETURN_TO_SENDER, Status.EXPIRED}
)

# What a new merchant's customers are told (TRACKING.md's "customer notification by default"
# column). failed_attempt and exception stay the merchant's choice, but start on: a customer whose
# address the driver cannot find is the one who most needs to hear about it (issue #19).
DEFAULT_CUSTOMER_NOTIFICATION_STATUSES = (
    Status.PRE_TRANSIT,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.AVAILABLE_FOR_PICKUP,
    Status.DELIVERED,
    Status.FAILED_ATTEMPT,
    Status.EXCEPTION,
    Status.RETURN_TO_SENDER,
    Status.CANCELLED,
)

# Statuses that always raise a staff alert.
STAFF_ALERT_STATUSES = frozenset(
    {Status.EXCEPTION, Status.FAILED_ATTEMPT, Status.RETURN_TO_SENDER, Status.EXPIRED}
)


class StatusDetail(models.TextChoices):
    LABEL_CREATED = "label_created", _("Label created")
    PICKUP_SCHEDULED = "pickup_scheduled", _("Pickup scheduled")
    PICKED_UP = "picked_up", _("Picked up")
    ACCEPTED = "accepted", _("Accepted by the carrier")
    ARRIVED_AT_FACILITY = "arrived_at_facility", _("Arrived at facility")
    DEPARTED_FACILITY = "departed_facility", _("Departed facility")
    IN_TRANSIT = "in_transit", _("In transit")
    CUSTOMS_PROCESSING = "customs_processing", _("Customs processing")
    CUSTOMS_HOLD = "customs_hold", _("Held in customs")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERY_ATTEMPTED = "delivery_attempted", _("Delivery attempted")
    AVAILABLE_FOR_PICKUP = "available_for_pickup", _("Ready for pickup")
    DELIVERED = "delivered", _("Delivered")
    DELIVERED_TO_AGENT = "delivered_to_agent", _("Delivered to an agent")
    ADDRESS_ISSUE = "address_issue", _("Address problem")
    RECIPIENT_NOT_AVAILABLE = "recipient_not_available", _("Recipient not available")
    BUSINESS_CLOSED = "business_closed", _("Business closed")
    WEATHER_DELAY = "weather_delay", _("Weather delay")
    MECHANICAL_DELAY = "mechanical_delay", _("Mechanical delay")
    REFUSED = "refused", _("Refused by recipient")
    DAMAGED = "damaged", _("Damaged")
    LOST = "lost", _("Lost")
    RETURN_TO_SENDER = "return_to_sender", _("Returning to sender")
    RETURNED = "returned", _("Returned to sender")
    CANCELLED = "cancelled", _("Cancelled")
    UNKNOWN = "unknown", _("Unknown")


class EventType(models.TextChoices):
    LABEL = "LABEL"
    PICKUP = "PICKUP"
    TRANSIT = "TRANSIT"
    CUSTOMS = "CUSTOMS"
    DELIVERY_ATTEMPT = "DELIVERY_ATTEMPT"
    DELIVERY = "DELIVERY"
    EXCEPTION = "EXCEPTION"
    RETURN = "RETURN"


class ExceptionCode(models.TextChoices):
    RECIPIENT_NOT_AVAILABLE = "001", "RECIPIENT_NOT_AVAILABLE"
    INCORRECT_ADDRESS = "002", "INCORRECT_ADDRESS"
    BUSINESS_CLOSED = "003", "BUSINESS_CLOSED"
    WEATHER_DELAY = "004", "WEATHER_DELAY"
    MECHANICAL_DELAY = "005", "MECHANICAL_DELAY"
    CUSTOMS_HOLD = "006", "CUSTOMS_HOLD"
    REFUSED_BY_RECIPIENT = "007", "REFUSED_BY_RECIPIENT"
    DAMAGED_PACKAGE = "008", "DAMAGED_PACKAGE"


class CarrierCode(models.TextChoices):
    UPS = "ups", "UPS"
    FEDEX = "fedex", "FedEx"
    USPS = "usps", "USPS"
    DHL = "dhl", "DHL"
    CANADA_POST = "canada_post", "Canada Post"
    SANDBOX = "sandbox", _("Sandbox (simulated)")
    OTHER = "other", _("Other carrier")


class EventSource(models.TextChoices):
    POLL = "poll", _("Carrier poll")
    PUSH = "push", _("Carrier push")
    MERCHANT = "merchant", _("Reported by the merchant")


# What a status means when a reporter gives no finer detail.
DEFAULT_STATUS_DETAIL = {
    Status.UNKNOWN: StatusDetail.UNKNOWN,
    Status.PRE_TRANSIT: StatusDetail.LABEL_CREATED,
    Status.IN_TRANSIT: StatusDetail.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY: StatusDetail.OUT_FOR_DELIVERY,
    Status.AVAILABLE_FOR_PICKUP: StatusDetail.AVAILABLE_FOR_PICKUP,
    Status.DELIVERED: StatusDetail.DELIVERED,
    Status.FAILED_ATTEMPT: StatusDetail.DELIVERY_ATTEMPTED,
    Status.EXCEPTION: StatusDetail.UNKNOWN,
    Status.RETURN_TO_SENDER: StatusDetail.RETURN_TO_SENDER,
    Status.CANCELLED: StatusDetail.CANCELLED,
    Status.EXPIRED: StatusDetail.UNKNOWN,
}

# The coarse eventType of a status; some details refine it (customs, pickups).
EVENT_TYPE_BY_STATUS = {
    Status.UNKNOWN: EventType.TRANSIT,
    Status.PRE_TRANSIT: EventType.LABEL,
    Status.IN_TRANSIT: EventType.TRANSIT,
    Status.OUT_FOR_DELIVERY: EventType.TRANSIT,
    Status.AVAILABLE_FOR_PICKUP: EventType.TRANSIT,
    Status.DELIVERED: EventType.DELIVERY,
    Status.FAILED_ATTEMPT: EventType.DELIVERY_ATTEMPT,
    Status.EXCEPTION: EventType.EXCEPTION,
    Status.RETURN_TO_SENDER: EventType.RETURN,
    Status.CANCELLED: EventType.LABEL,
    Status.EXPIRED: EventType.EXCEPTION,
}
EVENT_TYPE_BY_DETAIL = {
    StatusDetail.PICKED_UP: EventType.PICKUP,
    StatusDetail.ACCEPTED: EventType.PICKUP,
    StatusDetail.PICKUP_SCHEDULED: EventType.PICKUP,
    StatusDetail.CUSTOMS_PROCESSING: EventType.CUSTOMS,
    StatusDetail.CUSTOMS_HOLD: EventType.CUSTOMS,
}

# TRACKING.md's exception codes and the details they name.
EXCEPTION_CODE_BY_DETAIL = {
    StatusDetail.RECIPIENT_NOT_AVAILABLE: ExceptionCode.RECIPIENT_NOT_AVAILABLE,
    StatusDetail.ADDRESS_ISSUE: ExceptionCode.INCORRECT_ADDRESS,
    StatusDetail.BUSINESS_CLOSED: ExceptionCode.BUSINESS_CLOSED,
    StatusDetail.WEATHER_DELAY: ExceptionCode.WEATHER_DELAY,
    StatusDetail.MECHANICAL_DELAY: ExceptionCode.MECHANICAL_DELAY,
    StatusDetail.CUSTOMS_HOLD: ExceptionCode.CUSTOMS_HOLD,
    StatusDetail.REFUSED: ExceptionCode.REFUSED_BY_RECIPIENT,
    StatusDetail.DAMAGED: ExceptionCode.DAMAGED_PACKAGE,
}


def event_type_for(status: str, status_detail: str) -> str:
    return EVENT_TYPE_BY_DETAIL.get(status_detail) or EVENT_TYPE_BY_STATUS[Status(status)]
