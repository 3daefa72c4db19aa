"""What a customer may return of an order, under the merchant's return policy: plain rules over
rows already read, shared by the returns service (which checks them with the rows locked) and the
selector the customer page builds its form from (orders.selectors.order_return_options)."""

import fnmatch
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from merchants.models import ReturnPolicy
from orders.models import LineItem


@dataclass(frozen=True, slots=True)
class Delivered:
    """Units of a line item in one delivered (outbound) package, and when it was delivered."""

    line_item_id: int
    quantity: int
    delivered_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnOption:
    """What the customer may return of one line item now. `refusal` is the code of
    orders.services.returns' error when `available` is 0 (else "")."""

    line_item: LineItem
    delivered: int
    available: int
    window_ends_at: datetime | None  # the last delivery holding the item, plus the window
    refusal: str


NOT_RETURNABLE = "ITEM_NOT_RETURNABLE"
NOT_DELIVERED = "ITEM_NOT_DELIVERED"
WINDOW_CLOSED = "RETURN_WINDOW_CLOSED"
ALREADY_REQUESTED = "RETURN_QUANTITY_EXCEEDED"


def item_is_returnable(policy: ReturnPolicy, line_item: LineItem) -> bool:
    """The OMS's `returnable` flag and the merchant's itemId patterns (case-sensitive globs)."""
    if not line_item.is_returnable:
        return False
    return not any(
        fnmatch.fnmatchcase(line_item.item_id, pattern)
        for pattern in policy.not_returnable_pattern_list
    )


def return_options(
    policy: ReturnPolicy,
    line_items: Iterable[LineItem],
    deliveries: Iterable[Delivered],
    now: datetime,
) -> dict[int, ReturnOption]:
    """Per line item (by pk): the units delivered within the window, less those already in a
    return request (refused requests give theirs back)."""
    window = timedelta(days=policy.window_days)
    by_item: dict[int, list[Delivered]] = defaultdict(list)
    for delivered in deliveries:
        by_item[delivered.line_item_id].append(delivered)
    options = {}
    for line_item in line_items:
        packages = by_item[line_item.pk]
        delivered = sum(package.quantity for package in packages)
        in_window = sum(p.quantity for p in packages if p.delivered_at + window >= now)
        available = max(0, min(in_window, delivered - line_item.quantity_return_requested))
        last = max((package.delivered_at for package in packages), default=None)
        options[line_item.pk] = ReturnOption(
            line_item=line_item,
            delivered=delivered,
            available=available if item_is_returnable(policy, line_item) else 0,
            window_ends_at=last + window if last else None,
            refusal=_refusal(policy, line_item, delivered, in_window, available),
        )
    return options


def _refusal(policy, line_item, delivered: int, in_window: int, available: int) -> str:
    if not item_is_returnable(policy, line_item):
        return NOT_RETURNABLE
    if delivered == 0:
        return NOT_DELIVERED
    if in_window == 0:
        return WINDOW_CLOSED
    return "" if available else ALREADY_REQUESTED
