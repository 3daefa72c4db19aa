"""Shopify's GraphQL Admin API (`{base}/admin/api/<API_VERSION>/graphql.json`): what we write back
to a store on a platform connection of kind `shopify`, and the admin's "Test connection". The
Admin API access token (`secret`) goes in `X-Shopify-Access-Token`, over HTTPS only.

Written (docs/channels.md, "Shopify" → "What we write back"): one fulfillment event
(`fulfillmentEventCreate`) on the shipment's fulfillment (its `sourceReference`) for each status
the merchant chose; its status is Shopify's FulfillmentEventStatus for ours (SHOPIFY_STATUS), with
the time, place and estimated delivery of the carrier's newest event of that status.

Shopify limits an app by the calculated cost of its queries (a bucket refilled at `restoreRate`
points a second). A throttled call answers `errors[].extensions.code == "THROTTLED"` (with HTTP
200 or 429): we wait until the bucket holds the call's cost again. A mutation Shopify refuses
answers HTTP 200 with `userErrors`: named by their field, never by Shopify's text.
"""

import json
import math
import re

import requests

from carriers.vocabulary import Status, StatusDetail
from flextracker.outbound import GuardedSession, read_bounded, retry_after_seconds
from flextracker.urlguard import WEB, development_allowance
from platforms.clients import PlatformRefused, PlatformUnavailable, store_call
from platforms.models import PlatformConnection

# One pinned version: FulfillmentEventStatus differs between versions (2025-07 has DELAYED, not
# CARRIER_PICKED_UP). Shopify supports a version for a year; move it with SHOPIFY_STATUS.
API_VERSION = "2025-07"
TIMEOUT = (5, 15)  # connect, read (seconds)
MAX_ANSWER_BYTES = 256 * 1024
FULFILLMENT_GID = "gid://shopify/Fulfillment/"
# Shopify's own tokens (error codes, field names) may be named in our messages; nothing else is.
TOKEN = re.compile(r"[A-Za-z0-9_]{1,60}")

# Our status (and, where it says more, the detail) → Shopify's FulfillmentEventStatus (2025-07).
SHOPIFY_STATUS = {
    Status.PRE_TRANSIT: "LABEL_PURCHASED",
    Status.IN_TRANSIT: "IN_TRANSIT",
    Status.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    Status.AVAILABLE_FOR_PICKUP: "READY_FOR_PICKUP",
    Status.DELIVERED: "DELIVERED",
    Status.FAILED_ATTEMPT: "ATTEMPTED_DELIVERY",
    Status.EXCEPTION: "FAILURE",
    Status.RETURN_TO_SENDER: "FAILURE",
    Status.CANCELLED: "FAILURE",
}
# An exception that only holds the parcel up is a delay on Shopify, not a failure.
DELAY_DETAILS = frozenset({
    StatusDetail.WEATHER_DELAY, StatusDetail.MECHANICAL_DELAY, StatusDetail.CUSTOMS_HOLD,
    StatusDetail.CUSTOMS_PROCESSING,
})  # fmt: skip

EVENT_CREATE = (
    "mutation fulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) {"
    " fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {"
    " fulfillmentEvent { id status } userErrors { field message } } }"
)
SHOP_NAME = "query { shop { name } }"


def shopify_write(connection: PlatformConnection, payload: dict) -> str:
    """The fulfillment event the outbox row asks for; Shopify's id of the event created."""
    if not (payload.get("writeNote") or payload.get("completeOrder")):
        return "nothing to write"
    status = shopify_event_status(payload.get("status", ""), _status_detail(payload))
    if status is None:
        return f"nothing to write: Shopify has no fulfillment event for {payload.get('status')}"
    event = {"fulfillmentId": _fulfillment_gid(payload), "status": status,
             **_event_facts(payload)}  # fmt: skip
    answer = _graphql(connection, EVENT_CREATE, {"fulfillmentEvent": event})
    result = _object(_object(answer.get("data")).get("fulfillmentEventCreate"))
    if errors := result.get("userErrors"):
        raise PlatformRefused(_user_errors_message(errors))
    created = _object(result.get("fulfillmentEvent")).get("id")
    if not isinstance(created, str) or not created:
        raise PlatformRefused("Shopify created no fulfillment event and said nothing why.")
    return created


def shopify_check(connection: PlatformConnection) -> str:
    """One cheap authenticated read: the shop's name."""
    answer = _graphql(connection, SHOP_NAME, {})
    name = _object(_object(answer.get("data")).get("shop")).get("name")
    return f"Shop: {name}" if isinstance(name, str) else "Shopify answered."


def shopify_event_status(status: str, detail: str) -> str | None:
    """Shopify's FulfillmentEventStatus for our status; None when it has none (unknown,
    expired: nothing happened to the parcel that Shopify could show)."""
    if status == Status.EXCEPTION and detail in DELAY_DETAILS:
        return "DELAYED"
    return SHOPIFY_STATUS.get(status)


def _fulfillment_gid(payload: dict) -> str:
    reference = str(payload.get("sourceReference") or "")
    number = reference.removeprefix(FULFILLMENT_GID)
    if not number.isdigit():
        raise PlatformRefused("The shipment has no Shopify fulfillment to write to.")
    return f"{FULFILLMENT_GID}{number}"


def _status_detail(payload: dict) -> str:
    return _newest_event(payload).get("statusDetail") or _tracking(payload).get("statusDetail", "")


def _event_facts(payload: dict) -> dict:
    """When and where, from the carrier's newest event of the row's status, and the estimate."""
    newest = _newest_event(payload)
    location = _object(newest.get("location"))
    facts = {
        "happenedAt": newest.get("timestamp"),
        "city": location.get("city"),
        "province": location.get("state"),
        "country": location.get("country"),
        "zip": location.get("postalCode"),
        "estimatedDeliveryAt": _moment(_tracking(payload).get("estimatedDelivery")),
        "message": newest.get("description"),
    }
    return {name: value for name, value in facts.items() if value}


def _newest_event(payload: dict) -> dict:
    """The newest event of the row's status (the status may have moved on since it was queued),
    else the newest of all."""
    events = [_object(e) for e in _tracking(payload).get("events") or [] if _object(e)]
    events = [event for event in events if event.get("timestamp")]
    same = [event for event in events if event.get("status") == payload.get("status")]
    return max(same or events, key=lambda event: event["timestamp"], default={})


def _moment(value) -> str | None:
    """Shopify takes a DateTime: a date alone is taken at noon UTC, the same day in almost every
    time zone a customer reads it in."""
    if not isinstance(value, str) or not value:
        return None
    return f"{value}T12:00:00Z" if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else value


def _tracking(payload: dict) -> dict:
    return _object(payload.get("tracking"))


def _user_errors_message(errors) -> str:
    fields = []
    for error in errors if isinstance(errors, list) else []:
        path = _object(error).get("field")
        names = [str(part) for part in path or [] if TOKEN.fullmatch(str(part))]
        if names and ".".join(names) not in fields:
            fields.append(".".join(names))
    named = f" (field {', '.join(fields)})" if fields else ""
    return f"Shopify refused the fulfillment event{named}."


def _graphql(connection: PlatformConnection, query: str, variables: dict) -> dict:
    url = f"{connection.base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"
    headers = {"X-Shopify-Access-Token": connection.secret, "Accept": "application/json"}
    with store_call("Shopify"):
        session = GuardedSession(WEB, development_allowance())
        response = session.post(
            url, json={"query": query, "variables": variables}, headers=headers,
            timeout=TIMEOUT, stream=True, allow_redirects=False,
        )  # fmt: skip
        with response:
            answer = _answer_bytes(response)
    return _judged(response.status_code, response.headers, _json(answer))


def _answer_bytes(response: requests.Response) -> bytes:
    answer = read_bounded(response, MAX_ANSWER_BYTES)
    if answer is None:
        raise PlatformUnavailable(f"Shopify answered more than {MAX_ANSWER_BYTES} bytes.",
                                  response_status=response.status_code)  # fmt: skip
    return answer


def _judged(status: int, headers, answer) -> dict:
    answer = _object(answer)
    if _throttled(answer) or status == 429:
        raise PlatformUnavailable(
            _throttled_message(answer), response_status=status,
            retry_after=_throttle_wait(answer) or _retry_after(headers),
        )  # fmt: skip
    if status >= 500:
        raise PlatformUnavailable(f"Shopify answered HTTP {status}.", response_status=status)
    if status != 200:
        raise PlatformRefused(_refusal(status), response_status=status)
    if errors := answer.get("errors"):
        raise PlatformRefused(_errors_message(errors), response_status=status)
    if not isinstance(answer.get("data"), dict):
        raise PlatformRefused(
            "The store did not answer as Shopify's Admin API (is the address the store's "
            "myshopify.com address?).",
            response_status=status,
        )
    return answer


def _refusal(status: int) -> str:
    reason = {
        401: "refused the Admin API access token",
        402: "refused the call: the store is frozen (its bill is unpaid)",
        403: "refused the call: the app needs the write_fulfillments scope",
        404: "found no such store (check the store's myshopify.com address)",
        423: "refused the call: the store is locked",
    }.get(status)
    if reason is None and 300 <= status < 400:
        reason = f"answered with a redirect (HTTP {status}): use the store's myshopify.com address"
    return f"Shopify {reason or f'refused the call (HTTP {status})'}."


def _errors_message(errors) -> str:
    """A GraphQL error that is not a throttle: our query or the version no longer fits (the
    codes named, Shopify's messages not)."""
    codes = []
    for error in errors if isinstance(errors, list) else []:
        code = str(_object(_object(error).get("extensions")).get("code", ""))
        if TOKEN.fullmatch(code) and code not in codes:
            codes.append(code)
    named = f" ({', '.join(codes)})" if codes else ""
    return f"Shopify refused the call with a GraphQL error{named} (API version {API_VERSION})."


def _throttled(answer: dict) -> bool:
    errors = answer.get("errors")
    return isinstance(errors, list) and any(
        _object(_object(error).get("extensions")).get("code") == "THROTTLED" for error in errors
    )


def _cost(answer: dict) -> tuple[float, float, float] | None:
    """(requestedQueryCost, currentlyAvailable, restoreRate) when Shopify said them."""
    cost = _object(_object(answer.get("extensions")).get("cost"))
    bucket = _object(cost.get("throttleStatus"))
    values = (cost.get("requestedQueryCost"), bucket.get("currentlyAvailable"),
              bucket.get("restoreRate"))  # fmt: skip
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    return values if values[2] > 0 else None


def _throttle_wait(answer: dict) -> float | None:
    """Seconds until the bucket holds the call's cost again (at least one)."""
    cost = _cost(answer)
    if cost is None:
        return None
    requested, available, restore_rate = cost
    return max(1.0, math.ceil(max(requested - available, 0) / restore_rate * 10) / 10)


def _throttled_message(answer: dict) -> str:
    cost = _cost(answer)
    if cost is None:
        return "Shopify throttled the call."
    requested, available, restore_rate = (f"{value:g}" for value in cost)
    return (
        f"Shopify throttled the call (it costs {requested} points, {available} were available, "
        f"{restore_rate} come back each second)."
    )


def _retry_after(headers) -> float | None:
    seconds = retry_after_seconds(headers)
    return seconds if seconds and seconds < 86400 else None


def _json(answer: bytes):
    try:
        return json.loads(answer)
    except ValueError:
        return None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}
