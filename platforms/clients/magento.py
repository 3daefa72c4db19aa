"""Magento 2 / Adobe Commerce's REST API (`{base}/rest/V1/…`), read and written with the store's
integration access token as a bearer token (docs/channels.md, "Magento 2 / Adobe Commerce").

Reads are `searchCriteria` lists (`{"items", "search_criteria", "total_count"}`): a page past the
end answers the last page again, so paging stops by `total_count`, never by an empty page.
Dates are the store's UTC "YYYY-MM-DD HH:MM:SS", compared as strings by the database.

Writing back (WRITERS["magento"]) and "Test connection" (CHECKS["magento"]):
Each outbox row is at most one write, so a retry after a failure never writes twice: a
status-history comment (`POST /V1/orders/{entity_id}/comments`, not notified, not on the
storefront) saying what happened to the shipment, carrying `status: "complete"` when the order
is to be completed. Magento's REST API has no "complete" call: an order's state becomes complete
when it is fully invoiced and shipped, and invoicing is money, not ours to do. The comment's
status is the part of "complete" Magento lets an integration set (the order's status label, the
grid and the customer's account show it); 2.4.7 stopped comments from changing the status
(magento/magento2#38723, partly undone later), so such a store may keep its status and show the
comment only. An order canceled, closed or already complete is never given a status.
"""

import json
from dataclasses import dataclass

import requests

from carriers.vocabulary import Status
from flextracker.outbound import GuardedSession, RefusedUrl, read_bounded, retry_after_seconds
from flextracker.urlguard import WEB, development_allowance
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PLATFORM_ORDER_ATTRIBUTE, PlatformConnection

TIMEOUT = (5, 30)  # connect, read (seconds)
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# The most a page may hold when the store turns on its Web API input limits (2.4.x).
MAX_PAGE_SIZE = 300
COMPLETE = "complete"
FINAL_STATES = frozenset({"complete", "closed", "canceled"})
REFUSING = {401: "the access token was refused", 403: "the integration lacks a resource",
            404: "not found"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict]
    total_count: int


class MagentoClient:
    def __init__(self, connection: PlatformConnection):
        self.api = f"{store_base_url(connection.base_url)}/rest/V1"
        self.session = GuardedSession(WEB, development_allowance())
        self.session.headers.update(
            {"Authorization": f"Bearer {connection.secret}", "Accept": "application/json"}
        )

    def orders_updated_after(self, updated_at: str, entity_id: int, *, page_size: int) -> Page:
        """The orders after (updated_at, entity_id) in that order: the first page of them, with
        how many there are in all. A filter on both keys, so orders sharing a time are neither
        skipped nor read twice, and an order updated meanwhile moves to the end instead of
        shifting the pages under us (`updated_at ≥ t AND (updated_at > t OR entity_id > id)`:
        filters in one group are OR, groups AND)."""
        criteria = {
            **_filter(0, 0, "updated_at", updated_at, "gteq"),
            **_filter(1, 0, "updated_at", updated_at, "gt"),
            **_filter(1, 1, "entity_id", str(entity_id), "gt"),
            **_sort(0, "updated_at"), **_sort(1, "entity_id"),
            "searchCriteria[pageSize]": str(min(page_size, MAX_PAGE_SIZE)),
            "searchCriteria[currentPage]": "1",
        }  # fmt: skip
        return self._page("orders", criteria)

    def shipments_of(self, order_ids: list[int]) -> list[dict]:
        """Every shipment of these orders: one call for a page of orders, more only when they
        have more shipments than a page holds."""
        shipments: list[dict] = []
        current_page = 1
        while True:
            page = self._page("shipments", {
                **_filter(0, 0, "order_id", ",".join(str(i) for i in order_ids), "in"),
                **_sort(0, "entity_id"),
                "searchCriteria[pageSize]": str(MAX_PAGE_SIZE),
                "searchCriteria[currentPage]": str(current_page),
            })  # fmt: skip
            shipments.extend(page.items)
            if not page.items or current_page * MAX_PAGE_SIZE >= page.total_count:
                return shipments
            current_page += 1

    def order_state(self, entity_id: int) -> dict:
        """The order's `state` and `status` only."""
        answer = self._call(
            "GET", f"orders/{entity_id}", params={"fields": "entity_id,state,status"}
        )
        return answer if isinstance(answer, dict) else {}

    def order_comment(self, entity_id: int, comment: str, *, status: str = "") -> None:
        history = {"comment": comment, "is_customer_notified": 0, "is_visible_on_front": 0}
        if status:
            history["status"] = status
        self._call("POST", f"orders/{entity_id}/comments", json={"statusHistory": history})

    def store_configs(self) -> list[dict]:
        answer = self._call("GET", "store/storeConfigs")
        return [config for config in answer if isinstance(config, dict)] if isinstance(
            answer, list) else []  # fmt: skip

    def _page(self, resource: str, criteria: dict[str, str]) -> Page:
        answer = self._call("GET", resource, params=criteria)
        items = answer.get("items") if isinstance(answer, dict) else None
        total = answer.get("total_count") if isinstance(answer, dict) else None
        if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
            raise PlatformUnavailable(f"Magento's {resource} list has no items and total_count.")
        return Page([item for item in items if isinstance(item, dict)], total)

    def _call(self, method: str, path: str, **kwargs):
        try:
            response = self.session.request(
                method, f"{self.api}/{path}", timeout=TIMEOUT, stream=True, **kwargs
            )
        except RefusedUrl as refused:
            raise PlatformRefused(f"The store's address is refused: {refused}") from refused
        except requests.RequestException as error:
            raise PlatformUnavailable(
                f"Magento did not answer ({type(error).__name__})."
            ) from error
        with response:
            _judge(response, path)
            return _json(response, path)


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


def store_base_url(base_url: str) -> str:
    """The store's base URL as a merchant may paste it: with a trailing slash, or `/rest`,
    `/rest/V1`, `/index.php`."""
    url = base_url.strip().rstrip("/")
    for suffix in ("/rest/V1", "/rest/v1", "/rest", "/index.php"):
        url = url.removesuffix(suffix)
    return url


def _judge(response: requests.Response, path: str) -> None:
    status = response.status_code
    resource = path.split("?")[0]
    if status == 429 or status >= 500 or status == 408:
        raise PlatformUnavailable(
            f"Magento answered {status} to {resource}.",
            response_status=status, retry_after=retry_after_seconds(response.headers),
        )  # fmt: skip
    if status in REFUSING:
        raise PlatformRefused(
            f"Magento answered {status} to {resource}: {REFUSING[status]}.", response_status=status
        )
    if status >= 300:
        raise PlatformRefused(f"Magento answered {status} to {resource}.", response_status=status)


def _json(response: requests.Response, path: str):
    body = read_bounded(response, MAX_ANSWER_BYTES)
    if body is None:
        raise PlatformUnavailable(f"Magento's answer to {path} is over {MAX_ANSWER_BYTES} bytes.")
    try:
        return json.loads(body)
    except ValueError as error:  # a maintenance or login page instead of the API
        raise PlatformUnavailable(
            f"Magento's answer to {path} is not JSON.", response_status=response.status_code
        ) from error


def _filter(group: int, index: int, field: str, value: str, condition: str) -> dict[str, str]:
    prefix = f"searchCriteria[filter_groups][{group}][filters][{index}]"
    return {f"{prefix}[field]": field, f"{prefix}[value]": value,
            f"{prefix}[condition_type]": condition}  # fmt: skip


def _sort(index: int, field: str) -> dict[str, str]:
    prefix = f"searchCriteria[sortOrders][{index}]"
    return {f"{prefix}[field]": field, f"{prefix}[direction]": "ASC"}
