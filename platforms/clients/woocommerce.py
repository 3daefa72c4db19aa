"""WooCommerce's REST API (`/wp-json/wc/v3`): what we write back to a store on a platform
connection of kind `woocommerce`, and the admin's "Test connection". The consumer key and secret
(`username`, `secret`) go as HTTP Basic, over HTTPS only (the guard refuses plain http outside
development). The order is addressed by WooCommerce's post id (the platform order's `id`), never
by the number the customer sees.

Written (docs/channels.md, "WooCommerce"): a private order note for each status the merchant
chose, and the order completed when everything shipped is delivered.
"""

import json
import re

import requests

from carriers.vocabulary import CarrierCode, Status
from flextracker.outbound import GuardedSession, read_bounded, retry_after_seconds
from flextracker.urlguard import WEB
from platforms.clients import PlatformRefused, PlatformUnavailable, store_call
from platforms.models import PlatformConnection

API = "/wp-json/wc/v3"
TIMEOUT = (5, 15)  # connect, read (seconds)
MAX_ANSWER_BYTES = 256 * 1024
# WooCommerce's own error codes (`woocommerce_rest_cannot_edit`): named in our messages, never
# its message or body (RELIABILITY.md: no remote body echoed).
ERROR_CODE = re.compile(r"[a-z0-9_]{1,80}")
# Left as they are: the order is done, or someone on the store decided it was not to be.
NOT_TO_COMPLETE = frozenset({"completed", "cancelled", "refunded", "failed", "trash"})


def woocommerce_write(connection: PlatformConnection, payload: dict) -> str:
    """The note and the completion the outbox row asks for. The order is completed first: a
    retry after the note failed then finds it completed and writes the note only."""
    order_path = f"/orders/{_order_id(payload)}"
    session = GuardedSession(WEB)
    written = []
    if payload.get("completeOrder"):
        order = _object(_call(session, connection, "GET", order_path))
        if order.get("status") not in NOT_TO_COMPLETE:
            _call(session, connection, "PUT", order_path, {"status": "completed"})
            written.append("order completed")
    if payload.get("writeNote"):
        note = {"note": woocommerce_note(payload), "customer_note": False}
        created = _object(_call(session, connection, "POST", f"{order_path}/notes", note))
        written.append(f"note {created.get('id', '')}".strip())
    return "; ".join(written) or "nothing to write"


def woocommerce_check(connection: PlatformConnection) -> str:
    """One cheap authenticated read: the newest order (there may be none)."""
    _call(GuardedSession(WEB), connection, "GET", "/orders?per_page=1")
    return "WooCommerce store answered."


def woocommerce_note(payload: dict) -> str:
    """ "flexTracker: Delivered. UPS 1Z… – Austin, TX, US – 2026-11-21 14:03 UTC.\" """
    tracking = payload.get("tracking") or {}
    status = payload.get("status", "")
    label = Status(status).label if status in Status.values else status
    carrier = tracking.get("carrier", "")
    carrier_name = tracking.get("carrierName") or (
        CarrierCode(carrier).label if carrier in CarrierCode.values else carrier
    )
    latest = _latest_event(tracking)
    facts = [f"{carrier_name} {tracking.get('trackingNumber', '')}".strip()]
    if place := _place(latest.get("location") or {}):
        facts.append(place)
    if moment := latest.get("timestamp") or tracking.get("lastUpdated"):
        facts.append(_readable_time(moment))
    return f"flexTracker: {label}. {' – '.join(fact for fact in facts if fact)}."


def _latest_event(tracking: dict) -> dict:
    events = [event for event in tracking.get("events") or [] if event.get("timestamp")]
    return max(events, key=lambda event: event["timestamp"], default={})


def _place(location: dict) -> str:
    parts = (location.get("city"), location.get("state"), location.get("country"))
    return ", ".join(part for part in parts if part)


def _readable_time(moment: str) -> str:
    """ "2026-11-21T14:03:00Z" → "2026-11-21 14:03 UTC"; anything else as it is."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|\+00:00)", moment)
    return f"{match[1]} {match[2]} UTC" if match else moment


def _order_id(payload: dict) -> str:
    order_id = str((payload.get("platformOrder") or {}).get("id", ""))
    if not order_id.isdigit():  # it goes into the URL's path
        raise PlatformRefused("The order has no WooCommerce order id to write to.")
    return order_id


def _call(
    session: GuardedSession, connection: PlatformConnection, method: str, path: str,
    body: dict | None = None,
) -> dict | list:  # fmt: skip
    url = f"{connection.base_url.rstrip('/')}{API}{path}"
    with store_call("WooCommerce"):
        response = session.request(
            method, url, json=body, auth=(connection.username, connection.secret),
            headers={"Accept": "application/json"}, timeout=TIMEOUT, stream=True,
        )  # fmt: skip
        with response:
            answer = _answer_bytes(response)
    return _judged(response, answer)


def _answer_bytes(response: requests.Response) -> bytes:
    answer = read_bounded(response, MAX_ANSWER_BYTES)
    if answer is None:
        raise PlatformUnavailable(f"WooCommerce answered more than {MAX_ANSWER_BYTES} bytes.",
                                  response_status=response.status_code)  # fmt: skip
    return answer


def _judged(response: requests.Response, answer: bytes) -> dict | list:
    status = response.status_code
    if status == 429 or status >= 500:
        raise PlatformUnavailable(
            f"WooCommerce answered HTTP {status}.", response_status=status,
            retry_after=retry_after_seconds(response.headers),
        )  # fmt: skip
    if 300 <= status < 400:
        raise PlatformRefused(
            f"WooCommerce answered with a redirect (HTTP {status}): check the store URL "
            "(https, with or without www) and that permalinks are not “Plain”.",
            response_status=status,
        )
    parsed = _json(answer)
    if status >= 400:
        raise PlatformRefused(_refusal(status, parsed), response_status=status)
    if not isinstance(parsed, dict | list):
        raise PlatformRefused(
            "The store did not answer as the WooCommerce REST API (is /wp-json/ reachable?).",
            response_status=status,
        )
    return parsed


def _refusal(status: int, parsed) -> str:
    reason = {
        401: "refused the API key",
        403: "refused the API key (it needs Read/Write)",
        404: "found no such order or route",
    }.get(status, f"refused the request (HTTP {status})")
    code = parsed.get("code") if isinstance(parsed, dict) else None
    named = f" ({code})" if isinstance(code, str) and ERROR_CODE.fullmatch(code) else ""
    return f"WooCommerce {reason}{named}."


def _json(answer: bytes):
    try:
        return json.loads(answer)
    except ValueError:
        return None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}
