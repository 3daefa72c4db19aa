"""Every output a user sees, from one fixed scenario, written as files (issue 20): run it on two
commits and `diff -r before/ after/` shows any change of behaviour.

    .venv/bin/python bench/outputs.py OUTDIR [--database NAME --keep-database]

In-process (Django's test client, no HTTP), production settings (DEBUG off; static files by their
own names, no collectstatic), against a fresh PostgreSQL database (`flextracker_outputs`, dropped
at the end). The answers of the API, the Shopify hook, the admin's replay, the customer pages
(the PDF as its text), unsubscribe and the console; the outbox's rows; the emails and webhooks
sent (emails to Django's locmem outbox; webhooks answered by `responses`, their host resolved by
a fake `socket.getaddrinfo`).

It must run unchanged before and after code moves between apps, so it touches only what keeps
its import path: HTTP, management commands by name, `django.conf.settings`, and the models
merchants.models.Merchant/ApiKey, orders.models.Order/Shipment, notifications.models.
Notification/WebhookEndpoint. Other models (ShopifyShop, a PlatformConnection since issue 22;
InboundMessage for its admin URL) are found by class name in the app registry; the worker's
drain and send are the function paths django-q's Schedule rows hold; the Shopify sample is
found wherever its fixture lives.

Deterministic: time is frozen (time-machine; moved on by hand, and by every `time.sleep`, which
returns at once), `random` seeded, PYTHONHASHSEED 0, SECRET_KEY fixed (signed links and
unsubscribe tokens). Normalised, being random by design: API keys (ftk_…), webhook secrets
(whsec_…) and ids (whk_…), CSP nonces, CSRF tokens and cookies, session cookies, load_demo's
passwords, webhook signatures (an HMAC with the random secret), email Message-IDs. Each becomes
<kind-N>, numbered by first appearance, so that equal values stay equal. Database ids are kept:
a fresh database gives the same ones each run (two runs on one commit are byte-identical).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import logging
import os
import random
import re
import socket
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG_URL, REPO, database_create, database_drop, postgres_ensure_running

DB_NAME = "flextracker_outputs"
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
MERCHANT = "FDC-01-12345"  # load_demo's
OTHER = "OTH-02-54321"
WEBHOOK_HOST = "hooks.fred.example"
SHOP_DOMAIN = "fred.myshopify.com"
SHOP_SECRET = "shpss_outputs_0123456789abcdef"  # noqa: S105 - a fixed test value
ENV = {
    "DJANGO_SETTINGS_MODULE": "flextracker.settings",
    "DEBUG": "false",
    "SECRET_KEY": "outputs-fixed-secret-key-" + "x" * 40,
    "ALLOWED_HOSTS": "testserver,127.0.0.1",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "CACHE_URL": "locmemcache://",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "API_RATE_LIMIT": "1000000/min",
    "PAGE_VIEWS_PER_MINUTE": "1000000",
    "PAGE_MISSES_PER_MINUTE": "1000000",
    "SANDBOX_MINUTES_PER_STEP": "10",
    "PYTHONHASHSEED": "0",
}
# Static files by their own names: no collectstatic (the manifest of production) needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# (pattern, kind): the group 1 of each match (else the match) becomes <kind-N>.
RANDOM = [
    (r"ftk_[A-Za-z0-9_-]{6,}", "api-key"),
    (r"whsec_[A-Za-z0-9_-]+", "webhook-secret"),
    (r"whk_[0-9a-f]{24}", "webhook-id"),
    (r"nonce-([A-Za-z0-9_-]+)", "nonce"),
    (r"nonce=\"([A-Za-z0-9_-]+)\"", "nonce"),
    (r"csrfmiddlewaretoken\" value=\"([A-Za-z0-9]+)\"", "csrf"),
    (r"csrftoken=([A-Za-z0-9]+)", "csrf-cookie"),
    (r"sessionid=([a-z0-9]+)", "session"),
    (r"login \w+ / (\S+)", "password"),
    (r"t=\d+,v1=([0-9a-f]{64})", "signature"),
    (r"Message-ID: (<[^>]+>)", "message-id"),
]
ORDER = {
    "orderId": "5001", "orderDate": "2026-11-20T14:04:05Z",
    "customer": {"name": "María López", "email": "maria@example.com", "phone": "+15125550111"},
    "shippingAddress": {"street1": "1 Main St", "city": "Austin", "state": "TX",
                        "postalCode": "78701", "countryCode": "US"},
    "locale": "en-US", "currency": "USD", "orderValue": 116.50,
    "lineItems": [
        {"itemId": "SKU-1", "name": "Blue Mug", "quantity": 3, "price": 10.00},
        {"itemId": "SKU-2", "name": "Tea towel", "quantity": 2, "price": 6.50},
        {"itemId": "SKU-3", "name": "Teapot", "quantity": 1, "price": 40.00},
    ],
}  # fmt: skip


# --- Files -------------------------------------------------------------------------------------


class Normaliser:
    """Replaces each random value by <kind-N>, N counted per kind in order of first appearance."""

    def __init__(self):
        self.seen: dict[tuple[str, str], str] = {}
        self.counts: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        for pattern, kind in RANDOM:
            text = re.sub(pattern, lambda match, kind=kind: self._replace(match, kind), text)
        return text

    def _replace(self, match: re.Match, kind: str) -> str:
        group = 1 if match.re.groups else 0
        key = (kind, match.group(group))
        if key not in self.seen:
            self.counts[kind] += 1
            self.seen[key] = f"<{kind}-{self.counts[kind]}>"
        start, end = (i - match.start() for i in match.span(group))
        return match.group(0)[:start] + self.seen[key] + match.group(0)[end:]


class Recorder:
    """Writes numbered files into OUTDIR, each normalised."""

    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.count = 0
        self.normalise = Normaliser()

    def text(self, name: str, text: str) -> None:
        self.count += 1
        path = self.outdir / f"{self.count:03d}-{name}.txt"
        path.write_text(self.normalise(text))

    def json(self, name: str, value) -> None:
        self.text(name, as_json(value))

    def response(self, name: str, response) -> None:
        headers = "".join(f"{key}: {value}\n" for key, value in sorted(response.items()))
        cookies = "".join(f"Set-Cookie: {cookie.OutputString()}\n"
                          for cookie in response.cookies.values())  # fmt: skip
        self.text(name, f"{response.status_code}\n{headers}{cookies}\n{body_text(response)}")


def as_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"


def body_text(response) -> str:
    content_type = response.get("Content-Type", "")
    if "application/pdf" in content_type:
        return pdf_text(response.content)
    if "json" in content_type and response.content:
        return as_json(json.loads(response.content))
    return response.content.decode()


def pdf_text(content: bytes) -> str:
    """The text of each page (the bytes embed the moment of rendering)."""
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(content)).pages
    return "".join(f"--- page {n} ---\n{page.extract_text()}\n" for n, page in enumerate(pages, 1))


# --- Boundaries --------------------------------------------------------------------------------


def fake_dns() -> None:
    """The merchant's webhook host resolves to a public address (the SSRF guard asks); nothing
    connects to it: the `responses` mock answers."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == WEBHOOK_HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port or 443))]
        return real(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def model(name: str):
    """A model by class name, wherever its app is."""
    from django.apps import apps

    return next(m for m in apps.get_models() if m.__name__ == name)


def run_schedule(func_suffix: str) -> str:
    """Runs the worker's scheduled function, found by the path django-q stores for it."""
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    func = Schedule.objects.get(func__endswith=func_suffix).func
    return import_string(func)()


def command(name: str, *args: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


# --- The scenario ------------------------------------------------------------------------------


class Api:
    def __init__(self, client, key: str):
        self.client, self.key = client, key

    def post(self, path: str, body=None, *, raw: bytes | None = None, **headers):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(path, data, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {self.key}", **headers)  # fmt: skip

    def get(self, path: str, params=None):
        return self.client.get(path, params or {}, HTTP_AUTHORIZATION=f"Bearer {self.key}")


def scenario(rec: Recorder, clock) -> None:
    from django.test import Client

    rec.text("load_demo", command("load_demo"))
    rec.text("create_merchant", command("create_merchant", OTHER, "--name", "Other Shop"))
    key = command("create_api_key", MERCHANT, "--name", "oms").strip()
    other_key = command("create_api_key", OTHER, "--name", "oms").strip()
    rec.text("create_api_key", key)
    api, other = Api(Client(), key), Api(Client(), other_key)
    webhooks(rec, api)
    orders(rec, api, other)
    events(rec, api)
    queued(rec, api)
    trackers(rec, api)
    tracking(rec, api)
    replay(rec, api)
    shopify(rec)
    clock.shift(timedelta(minutes=80))  # the sandbox's packages move on
    rec.text("poll_carriers", command("poll_carriers", "--once"))
    outbox(rec)
    sent(rec)
    pages(rec, api)
    console(rec)


def webhooks(rec: Recorder, api: Api) -> None:
    url = f"https://{WEBHOOK_HOST}/flex"
    events = ["order.created", "shipment.created", "tracking.updated", "tracking.delivered"]
    subscription = {"url": url, "events": events}
    rec.response("webhook-create", api.post("/api/v1/webhooks", subscription))
    rec.response("webhook-create-again", api.post("/api/v1/webhooks", subscription))
    rec.response("webhook-invalid", api.post("/api/v1/webhooks", {"url": "ftp://x", "events": []}))
    listed = api.get("/api/v1/webhooks")
    rec.response("webhook-list", listed)
    webhook_id = listed.json()["data"][0]["id"]
    rec.response("webhook-get", api.get(f"/api/v1/webhooks/{webhook_id}"))
    rec.response("webhook-unknown", api.get("/api/v1/webhooks/whk_nope"))


def orders(rec: Recorder, api: Api, other: Api) -> None:
    rec.response("order-create", api.post("/api/v1/orders", ORDER))
    rec.response("order-update", api.post("/api/v1/orders", {**ORDER, "customer": {
        **ORDER["customer"], "name": "María López Ruiz"}}))  # fmt: skip
    rec.response("order-get", api.get("/api/v1/orders/5001"))
    rec.response("order-other-merchant", other.get("/api/v1/orders/5001"))
    rec.response("order-invalid", api.post("/api/v1/orders", {
        **ORDER, "lineItems": [{"itemId": "A", "quantity": 0}]}))  # fmt: skip
    rec.response("order-missing", api.post("/api/v1/orders", {}))
    rec.response("order-not-json", api.post("/api/v1/orders", raw=b"{nope"))
    rec.response(
        "order-unauthenticated",
        api.client.post("/api/v1/orders", "{}", content_type="application/json"),
    )
    shipment = {"trackingNumber": "SBXDELIVERED50010001", "carrier": "sandbox",
                "service": "Ground", "items": [{"itemId": "SKU-1", "quantity": 2}]}  # fmt: skip
    rec.response("shipment-create", api.post("/api/v1/orders/5001/shipments", shipment))
    rec.response(
        "shipment-again",
        api.post("/api/v1/orders/5001/shipments", {**shipment, "service": "Express"}),
    )
    rec.response("shipment-detected-ups", api.post("/api/v1/orders/5001/shipments", {
        "trackingNumber": "1z5r 8939 0357 5671 27",
        "items": [{"itemId": "SKU-2", "quantity": 1}]}))  # fmt: skip
    rec.response("shipment-too-many", api.post("/api/v1/orders/5001/shipments", {
        "trackingNumber": "SBXEXCEPTION50010002", "carrier": "sandbox",
        "items": [{"itemId": "SKU-1", "quantity": 5}]}))  # fmt: skip
    rec.response("shipment-placeholder", api.post("/api/v1/orders/LATE-1/shipments", {
        "trackingNumber": "SBXPICKUP50020001", "carrier": "sandbox",
        "items": [{"itemId": "SKU-9", "quantity": 1}]}))  # fmt: skip
    rec.response("backorder", api.post("/api/v1/orders/5001/backorders", {
        "items": [{"itemId": "SKU-1", "quantity": 1, "expectedDate": "2026-12-01"}]}))  # fmt: skip
    rec.response("cancel-items", api.post("/api/v1/orders/5001/cancellations", {
        "items": [{"itemId": "SKU-2", "quantity": 1}], "reason": "out of stock"}))  # fmt: skip
    rec.response("order-2-create", api.post("/api/v1/orders", {**ORDER, "orderId": "5002"}))
    rec.response(
        "cancel-whole",
        api.post("/api/v1/orders/5002/cancellations", {"reason": "customer request"}),
    )
    rec.response("order-list", api.get("/api/v1/orders"))
    rec.response("order-unknown", api.get("/api/v1/orders/9999"))


EVENT_ORDER = {
    "eventId": "oms-1", "type": "order.created", "occurredAt": "2026-11-20T14:30:00Z",
    "data": {"orderId": "6001", "customer": {"name": "Jane Doe", "email": "jane@example.com"},
             "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 2}]},
}  # fmt: skip
EVENT_SHIPPED = {
    "eventId": "oms-2", "type": "shipment.confirmed",
    "data": {"orderId": "6001", "trackingNumber": "SBXDELIVERED60010001", "carrier": "sandbox",
             "items": [{"itemId": "SKU-1", "quantity": 1}]},
}  # fmt: skip


def events(rec: Recorder, api: Api) -> None:
    rec.response("event-order", api.post("/api/v1/events", EVENT_ORDER))
    rec.response("event-duplicate", api.post("/api/v1/events", EVENT_ORDER))
    rec.response("event-shipped", api.post("/api/v1/events", EVENT_SHIPPED))
    rec.response("event-backordered", api.post("/api/v1/events", {
        "eventId": "oms-3", "type": "items.backordered", "data": {"orderId": "6001", "items": [
            {"itemId": "SKU-1", "quantity": 1, "expectedDate": "2026-12-01"}]}}))  # fmt: skip
    rec.response("event-no-id", api.post("/api/v1/events", {
        "type": "order.created", "data": EVENT_ORDER["data"]}))  # fmt: skip
    rec.response("event-unknown-type", api.post("/api/v1/events", {
        **EVENT_ORDER, "eventId": "oms-x", "type": "order.teleported"}))  # fmt: skip
    batch = [
        {**EVENT_ORDER, "eventId": "b-1", "data": {**EVENT_ORDER["data"], "orderId": "6002"}},
        {**EVENT_SHIPPED, "eventId": "b-2", "data": {**EVENT_SHIPPED["data"], "orderId": "6002",
         "items": [{"itemId": "SKU-1", "quantity": 5}]}},
        {**EVENT_SHIPPED, "eventId": "b-3", "data": {**EVENT_SHIPPED["data"], "orderId": "6002",
         "trackingNumber": "SBXRETURN60020001"}},
        "not an event",
        {**EVENT_ORDER, "eventId": "b-1", "data": {**EVENT_ORDER["data"], "orderId": "6002"}},
        {"eventId": "b-4", "type": "order.cancelled", "data": {"orderId": "6002"}},
    ]  # fmt: skip
    rec.response("events-batch", api.post("/api/v1/events/batch", {"events": batch}))
    rec.response("events-batch-empty", api.post("/api/v1/events/batch", {"events": []}))
    rec.response(
        "events-batch-too-big", api.post("/api/v1/events/batch", {"events": [EVENT_ORDER] * 501})
    )


def queued(rec: Recorder, api: Api) -> None:
    asynchronous = {"HTTP_PREFER": "respond-async"}
    posted = [
        api.post("/api/v1/orders", {**ORDER, "orderId": "7001"}, HTTP_IDEMPOTENCY_KEY="k-7001",
                 **asynchronous),
        api.post("/api/v1/orders", {**ORDER, "orderId": "7001"}, HTTP_IDEMPOTENCY_KEY="k-7001",
                 **asynchronous),
        api.post("/api/v1/orders/7001/shipments", {
            "trackingNumber": "SBXFAILED70010001", "carrier": "sandbox",
            "items": [{"itemId": "SKU-1", "quantity": 1}]}, **asynchronous),
        api.post("/api/v1/orders/7001/shipments", {
            "trackingNumber": "SBXLOST70010002", "carrier": "sandbox",
            "items": [{"itemId": "SKU-1", "quantity": 9}]}, **asynchronous),
        api.post("/api/v1/orders/7001/shipments", {}, **asynchronous),
    ]  # fmt: skip
    for n, response in enumerate(posted, 1):
        rec.response(f"async-post-{n}", response)
    location = posted[0]["Location"]
    rec.response("async-message-queued", api.get(location))
    rec.text("async-drain", str(run_schedule("apply_queued_messages")))
    for n, response in enumerate(posted[:4], 1):
        rec.response(f"async-message-{n}", api.get(response["Location"]))
    rec.response(
        "async-post-after",
        api.post(
            "/api/v1/orders",
            {**ORDER, "orderId": "7001"},
            HTTP_IDEMPOTENCY_KEY="k-7001",
            **asynchronous,
        ),
    )
    rec.response("messages-rejected", api.get("/api/v1/messages", {"status": "rejected"}))
    rec.response("messages-all", api.get("/api/v1/messages"))


def trackers(rec: Recorder, api: Api) -> None:
    for n in (1, 2):
        rec.response(f"tracker-create-{n}", api.post("/api/v1/trackers", {
            "trackerExternalId": f"T-{n}", "carrier": "sandbox",
            "trackingNumber": f"SBXDELIVERED8000000{n}", "groupId": "BASKET-7", "locale": "en-US",
            "deliveryContact": {"name": "Jane Doe", "email": "jane@example.com"},
            "items": [{"name": "Sourdough loaf", "quantity": n}]}))  # fmt: skip
    rec.response("tracker-update", api.post("/api/v1/trackers", {
        "trackerExternalId": "T-1", "carrier": "sandbox",
        "trackingNumber": "SBXDELIVERED80000001", "groupId": "BASKET-7",
        "deliveryInstructions": "Leave with the concierge."}))  # fmt: skip
    rec.response("tracker-invalid", api.post("/api/v1/trackers", {"trackerExternalId": ""}))
    rec.response("tracker-get", api.get("/api/v1/trackers/T-1"))
    rec.response("tracker-list", api.get("/api/v1/trackers"))
    rec.response("tracker-unknown", api.get("/api/v1/trackers/T-9"))


def tracking(rec: Recorder, api: Api) -> None:
    api.post("/api/v1/orders", {"orderId": "9001", "lineItems": [
        {"itemId": "SKU-1", "name": "Mug", "quantity": 2}]})  # fmt: skip
    api.post("/api/v1/orders/9001/shipments", {"trackingNumber": "VAN-42-0001", "carrier": "other",
             "items": [{"itemId": "SKU-1", "quantity": 2}]})  # fmt: skip
    departed = {"timestamp": "2026-11-20T14:40:00Z", "status": "in_transit",
                "statusDetail": "departed_facility", "description": "Left our depot",
                "location": {"city": "Austin", "state": "TX", "country": "us"}}  # fmt: skip
    delivered = {"timestamp": "2026-11-20T14:55:00Z", "status": "delivered",
                 "description": "Left at front door", "recipient": "J. Doe"}  # fmt: skip
    rec.response(
        "tracking-report", api.post("/api/v1/tracking/VAN-42-0001/events", {"events": [departed]})
    )
    rec.response(
        "tracking-report-delivered",
        api.post("/api/v1/tracking/VAN-42-0001/events", {"events": [delivered, departed]}),
    )
    rec.response(
        "tracking-report-invalid",
        api.post("/api/v1/tracking/VAN-42-0001/events", {"events": [{"status": "teleported"}]}),
    )
    rec.response("tracking-get", api.get("/api/v1/tracking/van-42-0001"))
    rec.response("tracking-get-sandbox", api.get("/api/v1/tracking/SBXDELIVERED50010001"))
    rec.response("tracking-events", api.get("/api/v1/tracking/events"))
    rec.response("tracking-unknown", api.get("/api/v1/tracking/NOPE123"))


def replay(rec: Recorder, api: Api) -> None:
    """A shipment rejected for an item its order lacks, replayed by staff once the order has it."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    order = {"orderId": "9101", "lineItems": [{"itemId": "SKU-1", "name": "Mug", "quantity": 1}]}
    api.post("/api/v1/orders", order)
    rejected = api.post("/api/v1/orders/9101/shipments", {
        "trackingNumber": "SBXDELIVERED91010001", "carrier": "sandbox",
        "items": [{"itemId": "SKU-2", "quantity": 1}]})  # fmt: skip
    rec.response("replay-rejected", rejected)
    message_id = api.get("/api/v1/messages", {"status": "rejected"}).json()["data"][0]["messageId"]
    api.post("/api/v1/orders", {**order, "lineItems": [
        *order["lineItems"], {"itemId": "SKU-2", "name": "Lid", "quantity": 1}]})  # fmt: skip
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="admin"),
                      backend="django.contrib.auth.backends.ModelBackend")  # fmt: skip
    meta = model("InboundMessage")._meta
    page = admin.post(f"/admin/{meta.app_label}/{meta.model_name}/",
                      {"action": "replay_selected", "_selected_action": [message_id]},
                      follow=True)  # fmt: skip
    notices = re.findall(r'<li class="[^"]*">(.*?)</li>',
                         re.search(r'<ul class="messagelist">(.*?)</ul>', page.content.decode(),
                                   re.S)[1], re.S)  # fmt: skip
    rec.text("replay-admin-notices", f"{page.status_code}\n" + "\n".join(notices) + "\n")
    rec.response("replay-message", api.get(f"/api/v1/messages/{message_id}"))


def _shopify_store_create(merchant) -> None:
    """The scenario's Shopify store: a platform connection since issue 22, a ShopifyShop in the
    code before (.ci/migrate_from_previous runs this script with that code)."""
    try:
        shop = model("ShopifyShop")
    except StopIteration:
        model("PlatformConnection").objects.create(
            merchant=merchant, name=SHOP_DOMAIN, kind="shopify", base_url=f"https://{SHOP_DOMAIN}",
            shop_domain=SHOP_DOMAIN, webhook_secret=SHOP_SECRET,
        )  # fmt: skip
    else:
        shop.objects.create(merchant=merchant, shop_domain=SHOP_DOMAIN, webhook_secret=SHOP_SECRET)


def shopify(rec: Recorder) -> None:
    from django.test import Client

    from merchants.models import Merchant

    _shopify_store_create(Merchant.objects.get(merchant_id=MERCHANT))
    sample = next(REPO.glob("*/tests/fixtures/shopify/orders_create.json")).read_bytes()
    client = Client()

    def deliver(body: bytes, signature: str):
        return client.post(f"/hooks/shopify/{MERCHANT}", body, content_type="application/json",
                           HTTP_X_SHOPIFY_TOPIC="orders/create",
                           HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP_DOMAIN,
                           HTTP_X_SHOPIFY_HMAC_SHA256=signature,
                           HTTP_X_SHOPIFY_WEBHOOK_ID="wh-outputs-1")  # fmt: skip

    digest = hmac.new(SHOP_SECRET.encode(), sample, hashlib.sha256).digest()
    signed = base64.b64encode(digest).decode()
    rec.response("shopify-order", deliver(sample, signed))
    rec.response("shopify-redelivery", deliver(sample, signed))
    rec.response("shopify-bad-signature", deliver(sample, "AAAA"))


def outbox(rec: Recorder) -> None:
    """The outbox before sending, in an order that does not depend on row ids."""
    from notifications.models import Notification

    rows = [
        {"merchant": row.merchant.merchant_id, "channel": row.channel,
         "recipient": row.recipient, "trigger": row.trigger, "dedupe_key": row.dedupe_key,
         "order": row.order.order_id if row.order else None,
         "shipment": row.shipment.tracking_number if row.shipment else None,
         "status": row.status, "payload": row.payload, "created_at": row.created_at}
        for row in Notification.objects.select_related("merchant", "order", "shipment")
    ]  # fmt: skip
    rows.sort(key=lambda row: (row["merchant"], row["dedupe_key"], row["channel"],
                               row["recipient"]))  # fmt: skip
    rec.json("outbox", rows)


def sent(rec: Recorder) -> None:
    """The outbox sent: each email as the customer gets it, each webhook as the merchant does."""
    import responses
    from django.core import mail

    from notifications.models import Notification

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(re.compile(rf"https://{re.escape(WEBHOOK_HOST)}/.*"), status=200)
        rec.text("send-notifications", str(run_schedule("send_notifications")))
        webhooks = [{"url": call.request.url, "headers": dict(sorted(call.request.headers.items())),
                     "body": json.loads(call.request.body)} for call in mock.calls]  # fmt: skip
    rec.json("webhooks-sent", sorted(webhooks, key=lambda webhook: as_json(webhook["body"])))
    emails = sorted(mail.outbox, key=lambda m: (m.to, m.subject, m.body))
    for n, message in enumerate(emails, 1):
        rec.text(f"email-{n}", email_text(message))
    states = sorted((row.channel, row.recipient, row.dedupe_key, row.status, row.attempts,
                     row.last_error) for row in Notification.objects.all())  # fmt: skip
    rec.json("outbox-after-sending", states)


def email_text(message) -> str:
    lines = [f"From: {message.from_email}", f"To: {', '.join(message.to)}",
             f"Reply-To: {', '.join(message.reply_to)}", f"Subject: {message.subject}"]  # fmt: skip
    lines += [f"{key}: {value}" for key, value in sorted(message.extra_headers.items())]
    alternatives = getattr(message, "alternatives", [])  # a plain EmailMessage has none
    parts = [f"--- {mimetype} ---\n{content}" for content, mimetype in alternatives]
    return "\n".join(lines) + f"\n\n--- text/plain ---\n{message.body}\n" + "\n".join(parts)


def pages(rec: Recorder, api: Api) -> None:
    from django.core import mail
    from django.test import Client

    client = Client()
    link = api.get("/api/v1/orders/5001").json()["data"]["links"]["trackingPage"]
    path = link.removeprefix("http://127.0.0.1:8000")
    rec.response("page-order", client.get(path))
    rec.response("page-order-template", client.get(path + "&templateName=NEWTEMPLATE&lang=es"))
    rec.response("page-order-unsigned", client.get(f"/orders/{MERCHANT}/5001"))
    rec.response("page-order-pdf", client.get(path.replace("/5001?", "/5001.pdf?")))
    rec.response("page-demo-order", client.get(f"/orders/{MERCHANT}/FDC-1001"))
    rec.response("page-demo-order-2", client.get(f"/orders/{MERCHANT}/FDC-1002"))
    rec.response("page-shopify-order", client.get(f"/orders/{MERCHANT}/%239999"))
    rec.response("page-tracker", client.get(f"/trackers/{MERCHANT}/T-1"))
    rec.response("page-group", client.get(f"/groups/{MERCHANT}/BASKET-7"))
    rec.response("page-order-unknown", client.get(f"/orders/{MERCHANT}/NOPE-1"))
    rec.response("page-merchant-unknown", client.get("/orders/NOP-00-00000/5001"))
    rec.response("page-group-unknown", client.get(f"/groups/{MERCHANT}/nope"))
    unsubscribe = next(m.extra_headers["List-Unsubscribe"] for m in
                       sorted(mail.outbox, key=lambda m: (m.to, m.subject, m.body))
                       if "List-Unsubscribe" in m.extra_headers)  # fmt: skip
    unsubscribe_path = re.search(r"<https?://[^/>]+(/unsubscribe/[^>]+)>", unsubscribe)[1]
    rec.response("page-unsubscribe", client.get(unsubscribe_path))
    rec.response("page-unsubscribe-post", client.post(unsubscribe_path))
    rec.response("page-unsubscribe-unknown", client.get("/unsubscribe/nope"))
    rec.response("page-landing", client.get("/"))
    rec.response("api-schema", client.get("/api/schema/"))
    rec.response("api-docs", client.get("/api/docs/"))


def console(rec: Recorder) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from orders.models import Order

    for username in ("admin", "fred"):
        client = Client()
        client.force_login(get_user_model().objects.get(username=username),
                           backend="django.contrib.auth.backends.ModelBackend")  # fmt: skip
        rec.response(f"console-{username}-home", client.get("/console/"))
        for query in ("1002", "jane", "maria lopez", "SBX DELIVERED 5001 0001", "78701", "zzz"):
            slug = re.sub(r"\W+", "_", query)
            rec.response(
                f"console-{username}-search-{slug}", client.get("/console/search", {"q": query})
            )
        for order_id in ("5001", "FDC-1001", "6002"):
            order = Order.objects.get(merchant__merchant_id=MERCHANT, order_id=order_id)
            rec.response(
                f"console-{username}-order-{order_id}", client.get(f"/console/orders/{order.pk}/")
            )
        rec.response(f"console-{username}-dashboard", client.get("/console/dashboard"))


# --- Running -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--database", default=DB_NAME, help="created, and dropped at the end")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="leave it in place (.ci/migrate_from_previous migrates it)",
    )
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":  # set order of strings is fixed at start-up
        os.execve(sys.executable, [sys.executable, *sys.argv], os.environ | ENV)  # noqa: S606
    os.environ.update(ENV | {"DATABASE_URL": f"{PG_URL}/{args.database}"})
    args.outdir.mkdir(parents=True, exist_ok=True)
    if any(args.outdir.iterdir()):
        sys.exit(f"{args.outdir} is not empty")
    postgres_ensure_running()
    database_create(args.database)
    try:
        run(args.outdir)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            database_drop(args.database)
    print(f"{len(list(args.outdir.iterdir()))} files in {args.outdir}")


def run(outdir: Path) -> None:
    import django
    import time_machine
    from django.test.utils import override_settings, setup_test_environment

    random.seed(0)
    fake_dns()
    with time_machine.travel(T0, tick=False) as clock:
        # Frozen clocks never reach a deadline: a sleep moves the frozen time on instead.
        time.sleep = lambda seconds: clock.shift(timedelta(seconds=seconds))
        django.setup()
        logging.disable(logging.WARNING)  # the 4xx the scenario asks for; errors still show
        warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic
        setup_test_environment()  # the test client's host, email to mail.outbox
        with override_settings(STORAGES=STORAGES):
            command("migrate", "--no-input")
            scenario(Recorder(outdir), clock)


if __name__ == "__main__":
    main()
