"""Writing back to a Magento 2 / Adobe Commerce store (WRITERS["magento"]) and its "Test
connection" (CHECKS["magento"]); the HTTP calls are platforms/clients/magento.py's.

Each outbox row is at most one write, so a retry after a failure never writes twice: a
status-history comment (`POST /V1/orders/{entity_id}/comments`, not notified, not on the
storefront) saying what happened to the shipment, carrying `status: "complete"` when the order
is to be completed. Magento's REST API has no "complete" call: an order's state becomes complete
when it is fully invoiced and shipped, and invoicing is money, not ours to do. The comment's
status is the part of "complete" Magento lets an integration set (the order's status label, the
grid and the customer's account show it); a store on 2.4.7 or later keeps its current status and
shows the comment only. An order canceled, closed or already complete is never given a status.
"""

from carriers.vocabulary import Status
from platforms.clients import PlatformRefused
from platforms.clients.magento import MagentoClient
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection

COMPLETE = "complete"
FINAL_STATES = frozenset({"complete", "closed", "canceled"})


def magento_write(connection: PlatformConnection, payload: dict) -> str:
    """What was written: "comment", "comment, status complete", or "nothing" (a row that
    asked only to complete an order Magento has finished with)."""
    entity_id = _entity_id(payload)
    client = MagentoClient(connection)
    status = ""
    if payload.get("completeOrder"):
        state = client.order_state(entity_id).get("state")
        status = "" if state in FINAL_STATES else COMPLETE
    if not payload.get("writeNote") and not status:
        return f"order {entity_id}: nothing (already {COMPLETE} or closed)"
    client.order_comment(entity_id, _comment(payload, completed=bool(status)), status=status)
    return f"order {entity_id}: comment" + (f", status {status}" if status else "")


def magento_check(connection: PlatformConnection) -> str:
    """The store's name and base currency, read with the connection's token."""
    configs = MagentoClient(connection).store_configs()
    if not configs:
        raise PlatformRefused("Magento answered no store configuration.")
    store = configs[0]
    return f"Store: {store.get('code', '?')}, base currency {store.get('base_currency_code', '?')}"


def _entity_id(payload: dict) -> int:
    link = payload.get(PLATFORM_ORDER_ATTRIBUTE)
    order_id = str(link.get("id", "")) if isinstance(link, dict) else ""
    if not order_id.isdigit():
        raise PlatformRefused("The order does not name its Magento order (platformOrder.id).")
    return int(order_id)


def _comment(payload: dict, *, completed: bool) -> str:
    """The comment staff read in the order's history: the package, its carrier and status."""
    tracking = payload.get("tracking") if isinstance(payload.get("tracking"), dict) else {}
    status = str(payload.get("status", ""))
    label = str(Status(status).label) if status in Status.values else status
    package = " ".join(
        part for part in (str(tracking.get("carrierName") or tracking.get("carrier") or ""),
                          str(tracking.get("trackingNumber") or "")) if part
    )  # fmt: skip
    lines = [f"flexTracker: {package or 'a package'}: {label}."]
    description = str(tracking.get("statusDescription") or "").strip()
    if description and description.lower() != label.lower():
        lines.append(description[:300])
    if completed:
        lines.append("Every package of this order is delivered: order marked complete.")
    return "\n".join(lines)
