"""Pulling a Magento 2 / Adobe Commerce store (PULLERS["magento"], called by the schedule in
ingest/channels/pulls.py): the orders updated since the cursor, a page at a time, each with its
shipments (one call per page of orders), each order one record through the channel core (route
`magento:<connection pk>`, mapped by ingest/channels/magento.py).

The cursor is the last order delivered, `<updated_at>|<entity_id>`, saved after each page, so a
pull cut short (its page budget, the round's deadline, an error) goes on where it stopped. Keyed
on both, an order is never skipped when several share a second (a mass action), nor when an order
read earlier in the pull is updated meanwhile (it moves to the end; offset pages would shift and
lose one). A version of an order already logged (its dedupe key) is not delivered again.
"""

import json
import time

from ingest.channels.core import ChannelRecord, channel_deliver_unseen
from ingest.channels.magento import magento_dedupe_key
from platforms.clients.magento import MagentoClient
from platforms.models import PlatformConnection

CHANNEL = "platform"
EPOCH = "1970-01-01 00:00:00"

Cursor = tuple[str, int]  # (updated_at, entity_id)


def magento_pull(connection: PlatformConnection, deadline: float) -> int:
    """Up to `max_pages` pages of `page_size` orders, while the deadline allows; the orders
    delivered."""
    client = MagentoClient(connection)
    cursor = _cursor(connection.pull_cursor)
    delivered = 0
    for _page in range(max(connection.max_pages, 1)):
        if time.monotonic() >= deadline:
            break
        page = client.orders_updated_after(*cursor, page_size=max(connection.page_size, 1))
        # Only orders past the cursor: a store that ignored the filter would loop for ever.
        orders = [order for order in page.items if _key(order) > cursor]
        if not orders:
            break
        shipments = client.shipments_of([int(order["entity_id"]) for order in orders])
        delivered += _deliver(connection, orders, shipments)
        cursor = max(_key(order) for order in orders)
        _cursor_save(connection, cursor)
        if len(page.items) >= page.total_count:
            break  # the rest of the matches were on this page
    return delivered


def _deliver(connection: PlatformConnection, orders: list[dict], shipments: list[dict]) -> int:
    by_order: dict[str, list[dict]] = {}
    for shipment in shipments:
        by_order.setdefault(str(shipment.get("order_id")), []).append(shipment)
    records = [
        _record(connection, order, by_order.get(str(order["entity_id"]), [])) for order in orders
    ]
    return channel_deliver_unseen(merchant=connection.merchant, channel=CHANNEL,
                                  route=f"magento:{connection.pk}", records=records)  # fmt: skip


def _record(connection: PlatformConnection, order: dict, shipments: list[dict]) -> ChannelRecord:
    return ChannelRecord(
        body=json.dumps({"order": order, "shipments": shipments}).encode(),
        source=f"magento:{connection.name} order {order.get('increment_id')}"[:200],
        content_type="application/json",
        dedupe_key=magento_dedupe_key(connection, order),
    )


def _key(order: dict) -> Cursor:
    try:
        return str(order.get("updated_at") or ""), int(order.get("entity_id"))
    except (TypeError, ValueError):
        return "", 0  # never past any cursor: an order without an id is no order


def _cursor(saved: str) -> Cursor:
    """The saved cursor; a date alone (set by staff to start from there) is a cursor too."""
    updated_at, _, entity_id = saved.strip().partition("|")
    return (updated_at or EPOCH), int(entity_id) if entity_id.isdigit() else 0


def _cursor_save(connection: PlatformConnection, cursor: Cursor) -> None:
    connection.pull_cursor = f"{cursor[0]}|{cursor[1]}"
    PlatformConnection.objects.filter(pk=connection.pk).update(pull_cursor=connection.pull_cursor)
