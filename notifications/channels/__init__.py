"""Notification channels: one small class per way of sending, behind one interface (STYLE.md).

A channel's `send(notification) -> Delivery` either delivers, or raises DeliveryFailed (worth
retrying: timeout, 5xx, 429) or DeliveryRefused (retrying cannot help: the recipient is gone or
refuses). The sending engine (notifications/sending.py) owns retries, backoff and the log.
"""

from dataclasses import dataclass
from typing import Protocol

# For a provider that takes no idempotency key (Twilio): one that may have the message already
# is never asked again, since a second request could be a second message.
OUTCOME_UNKNOWN = "Not sent again: it may have reached the provider and been sent."


@dataclass(frozen=True, slots=True)
class Delivery:
    provider_id: str = ""
    response_status: int | None = None


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, response_status: int | None = None,
                 retry_after: float | None = None):  # fmt: skip
        super().__init__(message)
        self.response_status = response_status
        self.retry_after = retry_after


class DeliveryRefused(Exception):
    def __init__(self, message: str, *, response_status: int | None = None):
        super().__init__(message)
        self.response_status = response_status


class Channel(Protocol):
    def send(self, notification) -> Delivery: ...
