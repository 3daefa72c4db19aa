"""A fake Magento 2 store at the HTTP boundary (`responses`): `/rest/V1/orders`, `/shipments`,
`/orders/{id}`, `/orders/{id}/comments`, `/store/storeConfigs`, answering in Magento's shapes
(our own records, shaped as the samples in ../shared/samples/magento/). Its searchCriteria are
Magento's: filters in a group OR, groups AND; a page past the end answers the last page again."""

import json
import math
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import responses

TOKEN = "mg-integration-token-0123456789abcdef"
FILTER = re.compile(r"searchCriteria\[filter_groups\]\[(\d+)\]\[filters\]\[(\d+)\]\[(\w+)\]")
UNAUTHORIZED = "The consumer isn't authorized to access %resources."
STORE_CONFIG = {"id": 1, "code": "default", "website_id": 1, "base_currency_code": "USD"}
SORT = re.compile(r"searchCriteria\[sortOrders\]\[(\d+)\]\[(\w+)\]")


def magento_order(entity_id: int, increment_id: str, updated_at: str, *, state="processing",
                  created_at="2026-11-20 15:04:05") -> dict:  # fmt: skip
    """An order as `GET /V1/orders` lists it: a configurable hoodie (the parent and its child
    simple, same SKU) and two mugs, shipped to Austin."""
    hoodie, child, mug = entity_id * 10 + 1, entity_id * 10 + 2, entity_id * 10 + 3
    items = [
        {"item_id": hoodie, "order_id": entity_id, "parent_item_id": None, "product_type":
         "configurable", "sku": "HD-01-M-Teal", "name": "Trail Hoodie", "qty_ordered": 1,
         "qty_shipped": 0, "price": 54.5, "is_virtual": 0},
        {"item_id": child, "order_id": entity_id, "parent_item_id": hoodie, "product_type":
         "simple", "sku": "HD-01-M-Teal", "name": "Trail Hoodie-M-Teal", "qty_ordered": 1,
         "qty_shipped": 0, "price": 0, "is_virtual": 0},
        {"item_id": mug, "order_id": entity_id, "parent_item_id": None, "product_type": "simple",
         "sku": "MUG-BLUE", "name": "Blue Mug", "qty_ordered": 2, "qty_shipped": 0, "price": 12,
         "is_virtual": 0},
    ]  # fmt: skip
    address = {"address_type": "shipping", "city": "Austin", "country_id": "US",
               "email": "jane@example.com", "firstname": "Jane", "lastname": "Doe",
               "parent_id": entity_id, "postcode": "78701", "region": "Texas",
               "region_code": "TX", "street": ["1 Main St", "Suite 5"],
               "telephone": "+15125550100"}  # fmt: skip
    return {
        "entity_id": entity_id, "increment_id": increment_id, "state": state, "status": state,
        "created_at": created_at, "updated_at": updated_at, "customer_email": "jane@example.com",
        "customer_firstname": "Jane", "customer_lastname": "Doe", "order_currency_code": "USD",
        "base_currency_code": "USD", "grand_total": 78.5, "store_id": 1, "items": items,
        "billing_address": {**address, "address_type": "billing"},
        "extension_attributes": {"shipping_assignments": [
            {"shipping": {"address": address, "method": "flatrate_flatrate"}, "items": items}
        ]},
    }  # fmt: skip


def magento_shipment(
    entity_id: int,
    order: dict,
    tracks: list[tuple[str, str, str]],
    items: list[tuple[int, int]],
    *,
    created_at="2026-11-21 10:00:00",
) -> dict:
    """A shipment as `GET /V1/shipments` lists it; tracks (number, carrier_code, title), items
    (order_item_id, qty)."""
    return {
        "entity_id": entity_id, "increment_id": f"00000{entity_id}", "order_id": order["entity_id"],
        "created_at": created_at, "updated_at": created_at, "total_qty": sum(q for _i, q in items),
        "items": [{"entity_id": entity_id * 100 + n, "parent_id": entity_id, "order_item_id": item,
                   "qty": qty, "sku": "", "name": "", "price": 0}
                  for n, (item, qty) in enumerate(items)],
        "tracks": [{"entity_id": entity_id * 100 + n, "parent_id": entity_id,
                    "order_id": order["entity_id"], "track_number": number,
                    "carrier_code": code, "title": title, "created_at": created_at}
                   for n, (number, code, title) in enumerate(tracks)],
        "comments": [], "packages": [],
    }  # fmt: skip


@dataclass
class FakeMagento:
    base_url: str = "https://shop.example.com"
    orders: list[dict] = field(default_factory=list)
    shipments: list[dict] = field(default_factory=list)
    comments: list[tuple[int, dict]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # "GET orders", "POST orders/9/comments" …
    down: int | None = None  # answer every call with this status
    ignores_filters: bool = False  # a store whose plugin drops the searchCriteria filters
    shipments_take: float = 0.0  # seconds the shipments list takes to answer

    def install(self) -> "FakeMagento":
        api = re.compile(re.escape(f"{self.base_url}/rest/V1/") + r"(?P<path>[^?]*)(\?.*)?$")
        for method in (responses.GET, responses.POST):
            responses.add_callback(method, api, callback=self._answer)
        return self

    def _answer(self, request):
        path = urlsplit(request.url).path.split("/rest/V1/", 1)[1]
        self.calls.append(f"{request.method} {path}")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, json.dumps({"message": UNAUTHORIZED})
        if self.down:
            return self.down, {"Retry-After": "120"}, "<html>Service Unavailable</html>"
        params = parse_qsl(urlsplit(request.url).query)
        if path == "orders":
            return self._search(self.orders, params)
        if path == "shipments":
            time.sleep(self.shipments_take)
            return self._search(self.shipments, params)
        if path == "store/storeConfigs":
            return 200, {}, json.dumps([STORE_CONFIG])
        return self._order(request, path)

    def _order(self, request, path: str):
        found = re.fullmatch(r"orders/(\d+)(/comments)?", path)
        order = next((o for o in self.orders if found and o["entity_id"] == int(found[1])), None)
        if order is None:
            return 404, {}, json.dumps({"message": "The entity that was requested doesn't exist."})
        if found[2] and request.method == "POST":
            self.comments.append((order["entity_id"], json.loads(request.body)["statusHistory"]))
            return 200, {}, "true"
        return 200, {}, json.dumps({"entity_id": order["entity_id"], "state": order["state"],
                                    "status": order["status"]})  # fmt: skip

    def _search(self, records: list[dict], params: list[tuple[str, str]]):
        groups: dict[str, dict[str, dict]] = {}
        sorts: dict[str, dict] = {}
        for key, value in params:
            if found := FILTER.fullmatch(key):
                groups.setdefault(found[1], {}).setdefault(found[2], {})[found[3]] = value
            elif found := SORT.fullmatch(key):
                sorts.setdefault(found[1], {})[found[2]] = value
        matched = [
            r
            for r in records
            if self.ignores_filters
            or all(any(_matches(r, f) for f in group.values()) for group in groups.values())
        ]
        for sort in reversed([sorts[k] for k in sorted(sorts)]):
            matched.sort(
                key=lambda r, f=sort["field"]: r[f], reverse=sort.get("direction") == "DESC"
            )
        query = dict(params)
        size = int(query.get("searchCriteria[pageSize]") or len(matched) or 1)
        last = max(1, math.ceil(len(matched) / size))
        page = min(int(query.get("searchCriteria[currentPage]", "1")), last)  # the trap
        items = matched[(page - 1) * size : page * size]
        return 200, {}, json.dumps({"items": items, "search_criteria": {"current_page": page},
                                    "total_count": len(matched)})  # fmt: skip


def _matches(record: dict, condition: dict) -> bool:
    value, wanted = record[condition["field"]], condition["value"]
    if condition["condition_type"] == "in":
        return str(value) in wanted.split(",")
    if isinstance(value, int):
        wanted = int(wanted)
    return {
        "eq": value == wanted,
        "gt": value > wanted,
        "gteq": value >= wanted,
        "lt": value < wanted,
        "lteq": value <= wanted,
    }[condition.get("condition_type", "eq")]
