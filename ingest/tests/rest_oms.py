"""Fakes of three OMS APIs at the HTTP boundary (`responses`), answering in their own shapes, for
the generic REST pull (ingest/channels/rest_pull.py):

- Dynamics 365 / Dataverse Web API: `GET /api/data/v9.2/salesorders?$filter=modifiedon ge …`,
  `{"@odata.context", "value": [...], "@odata.nextLink"}`, paged by `Prefer: odata.maxpagesize`
  (Dataverse has no `$skip`; its `$skiptoken` is an opaque paging cookie, ours an offset).
- Zoho Inventory: `GET /inventory/v1/salesorders?organization_id=…&page=…&per_page=…`,
  `{"code": 0, "message": "success", "salesorders": [...], "page_context": {…has_more_page}}`,
  with `Authorization: Zoho-oauthtoken …`.
- A NetSuite RESTlet running the merchant's saved search of sales orders, lines grouped per order,
  `{"results": [...], "hasMore": …}`; NetSuite's dates as its user preference writes them.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import responses

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-access-token"
DATAVERSE = "https://contoso.crm.dynamics.com/api/data/v9.2"
DATAVERSE_VIEW = (
    f"{DATAVERSE}/salesorders?$select=ordernumber,modifiedon,shipto_name,shipto_city,"
    "shipto_country,totalamount&$expand=order_details($select=quantity;$expand=productid("
    "$select=productnumber,name))&$filter=modifiedon ge {since}&$orderby=modifiedon asc"
)
ZOHO = "https://www.zohoapis.com/inventory/v1/salesorders"
ZOHO_TOKEN = "Zoho-oauthtoken 1000.4f1c7e0d5b9a.2b8e"
ZOHO_LIST = f"{ZOHO}?organization_id=10234695&page={{page}}&per_page={{pageSize}}&sort_order=A"
RESTLET = "https://1234567.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
RESTLET_URL = f"{RESTLET}?script=customscript_ft_orders&deploy=1&since={{since}}&page={{page}}"


def dataverse_order(number: str, modified: str, *, lines=(("HD-01", "Trail Hoodie", 1.0),)) -> dict:
    return {
        "@odata.etag": f'W/"{abs(hash((number, modified))) % 10_000_000}"',
        "salesorderid": f"5ab2c1de-{number[-4:]}-ef11-8409-000d3a5a9d4b",
        "ordernumber": number, "modifiedon": modified, "shipto_name": "Jane Doe",
        "shipto_city": "Austin", "shipto_country": "US", "totalamount": 78.5,
        "order_details": [
            {"@odata.etag": 'W/"1"', "salesorderdetailid": f"d{n}-{number}", "quantity": quantity,
             "productid": {"productnumber": sku, "name": name, "productid": f"p-{sku}"}}
            for n, (sku, name, quantity) in enumerate(lines)
        ],
    }  # fmt: skip


DATAVERSE_DICTIONARY = {
    "type": {"value": "order.created"},
    "occurredAt": {"path": "modifiedon", "as": "datetime"},
    "fields": {"order.created": {
        "orderId": "ordernumber",
        "customer.name": "shipto_name",
        "shippingAddress.city": "shipto_city",
        "shippingAddress.countryCode": "shipto_country",
        "orderValue": {"path": "totalamount", "as": "decimal"},
        "lineItems": {"path": "order_details", "fields": {
            "itemId": "productid.productnumber", "name": "productid.name",
            "quantity": {"path": "quantity", "as": "int"}}},
    }},
}  # fmt: skip


@dataclass
class FakeDataverse:
    orders: list[dict] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    down: int | None = None  # answer every call with this status
    retry_after: str = "120"

    def install(self) -> "FakeDataverse":
        pattern = re.compile(re.escape(f"{DATAVERSE}/salesorders") + r"(\?.*)?$")
        responses.add_callback(responses.GET, pattern, callback=self._answer)
        return self

    def _answer(self, request):
        self.calls.append(request.url)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            error = {"code": "0x80072560", "message": "The user is not a member."}
            return 401, {}, json.dumps({"error": error})
        if self.down:
            return self.down, {"Retry-After": self.retry_after}, ""
        query = dict(parse_qsl(urlsplit(request.url).query))
        since = re.fullmatch(r"modifiedon ge (\S+)", query["$filter"])[1]
        size = int(re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))[1])
        rows = sorted((o for o in self.orders if o["modifiedon"] >= since),
                      key=lambda o: (o["modifiedon"], o["salesorderid"]))  # fmt: skip
        skip = int(query.get("$skiptoken", "0"))
        body = {"@odata.context": f"{DATAVERSE}/$metadata#salesorders", "value": rows[skip:][:size]}
        if skip + size < len(rows):
            body["@odata.nextLink"] = _with(request.url, **{"$skiptoken": str(skip + size)})
        headers = {"Preference-Applied": f"odata.maxpagesize={size}", "OData-Version": "4.0"}
        return 200, headers, json.dumps(body)


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {**dict(parse_qsl(parts.query)), **params}
    return urlunsplit(parts._replace(query=urlencode(query)))


def zoho_order(number: int, *, status="confirmed", modified="2026-11-21T15:37:06+0530") -> dict:
    """A sales order as Zoho Inventory lists it (its dates with a `+0530` offset)."""
    return {
        "salesorder_id": f"48150000000{number:05d}", "salesorder_number": f"SO-{number:05d}",
        "reference_number": f"WEB-{number}", "customer_name": "Molly Bloom",
        "email": "molly@example.com", "date": "2026-11-21", "status": status,
        "order_status": status, "currency_code": "USD", "total": 244.0,
        "created_time": "2026-11-21T15:00:00+0530", "last_modified_time": modified,
        "line_items": [{"line_item_id": f"9{number}1", "sku": "LT-15-W",
                        "name": "Laptop-white/15inch", "quantity": 2, "rate": 122}],
    }  # fmt: skip


ZOHO_DICTIONARY = {
    "type": {"value": "order.created"},
    "occurredAt": {"path": "last_modified_time", "as": "datetime",
                   "format": "%Y-%m-%dT%H:%M:%S%z"},
    "fields": {"order.created": {
        "orderId": "salesorder_number", "customer.name": "customer_name",
        "customer.email": "email", "currency": "currency_code",
        "lineItems": {"path": "line_items", "fields": {
            "itemId": "sku", "name": "name", "quantity": {"path": "quantity", "as": "int"}}},
    }},
}  # fmt: skip


@dataclass
class FakeZoho:
    orders: list[dict] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def install(self) -> "FakeZoho":
        pattern = re.compile(re.escape(ZOHO) + r"(\?.*)?$")
        responses.add_callback(responses.GET, pattern, callback=self._answer)
        return self

    def _answer(self, request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        self.calls.append(f"page {query.get('page')}")
        if request.headers.get("Authorization") != ZOHO_TOKEN:
            return 401, {}, json.dumps({"code": 57, "message": "You are not authorized."})
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "200"))
        rows = self.orders[(page - 1) * per_page :][:per_page]
        more = page * per_page < len(self.orders)
        return 200, {}, json.dumps({
            "code": 0, "message": "success", "salesorders": rows,
            "page_context": {"page": page, "per_page": per_page, "has_more_page": more,
                             "report_name": "Sales Orders", "sort_column": "created_time",
                             "sort_order": "A"},
        })  # fmt: skip


def restlet_order(tranid: str, modified: str) -> dict:
    """A saved search's sales order as the merchant's RESTlet answers it: the search's columns
    (`values`, selects as value and text) and its lines grouped under the order."""
    return {
        "recordType": "salesorder", "id": tranid.removeprefix("SO"),
        "values": {"tranid": tranid, "lastmodifieddate": modified,
                   "entity": [{"value": "1852", "text": "Jane Doe"}],
                   "email": "jane@example.com", "shipcity": "Austin", "shipcountry": "US"},
        "lines": [{"item": [{"value": "77", "text": "MUG-BLUE"}],
                   "memo": "Blue Mug", "quantity": "2"}],
    }  # fmt: skip


RESTLET_DICTIONARY = {
    "type": {"value": "order.created"},
    "occurredAt": {"path": "values.lastmodifieddate", "as": "datetime",
                   "format": "%m/%d/%Y %I:%M %p"},
    "timezone": "America/Los_Angeles",
    "fields": {"order.created": {
        "orderId": "values.tranid", "customer.name": "values.entity.0.text",
        "customer.email": "values.email", "shippingAddress.city": "values.shipcity",
        "shippingAddress.countryCode": "values.shipcountry",
        "lineItems": {"path": "lines", "fields": {
            "itemId": "item.0.text", "name": "memo",
            "quantity": {"path": "quantity", "as": "int"}}},
    }},
}  # fmt: skip


@dataclass
class FakeRestlet:
    """The RESTlet filters on its saved search's last-modified date (at or after `since`, read
    in the account's time zone) and pages by `page`, 2 orders a page."""

    orders: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    per_page: int = 2
    after_answer: Callable[["FakeRestlet"], None] | None = None  # a change in NetSuite meanwhile

    def install(self) -> "FakeRestlet":
        pattern = re.compile(re.escape(RESTLET) + r"(\?.*)?$")
        responses.add_callback(responses.GET, pattern, callback=self._answer)
        return self

    def _answer(self, request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        self.calls.append(query)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, json.dumps({"error": {"code": "INVALID_LOGIN_ATTEMPT"}})
        since = datetime.fromisoformat(query["since"])
        rows = sorted((o for o in self.orders if _netsuite_time(o) >= since), key=_netsuite_time)
        page = int(query["page"])
        found = rows[(page - 1) * self.per_page :][: self.per_page]
        more = page * self.per_page < len(rows)
        answer = json.dumps({"results": found, "hasMore": more})
        if self.after_answer:
            self.after_answer(self)
        return 200, {}, answer


def _netsuite_time(order: dict) -> datetime:
    moment = datetime.strptime(order["values"]["lastmodifieddate"], "%m/%d/%Y %I:%M %p")
    return moment.replace(tzinfo=ZoneInfo("America/Los_Angeles"))
