"""The API endpoints whose POSTs the inbound log keeps (inbound.api.base.InboundApi), by the path
they were logged under: the plain function that handles each message, for replay, and for those
taking `Prefer: respond-async` the one that parses it, for the queued drain. Written out rather
than resolved through the URLconf, so that neither goes through a view; each view's `handle`
calls the same function."""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from flextracker.errors import NotFound
from inbound.services import Result
from ingest.api.returns import return_approve_answer, return_label_answer, return_refuse_answer
from ingest.api.trackers import tracker_answer
from ingest.envelope import (
    Parsed,
    event_apply,
    event_parsed,
    events_batch_apply,
    message_apply,
    message_parsed,
)
from notifications.api.views import (
    tracking_webhook_create_answer,
    webhook_create_answer,
    webhook_enable_answer,
)
from tracking.api.seed002 import (
    track_details_answer,
    track_shipment_answer,
    track_shipments_answer,
    track_update_answer,
)
from tracking.api.views import (
    tracking_batch_answer,
    tracking_refresh_answer,
    tracking_report_answer,
)

API_PREFIX = "/api/v1/"


@dataclass(frozen=True, slots=True)
class Endpoint:
    handle: Callable[..., Result]  # (merchant, payload, **the path's arguments)
    queued: Callable[..., Parsed] | None = None  # (payload, **the path's arguments)


def _change(event_type: str) -> Endpoint:
    """An endpoint whose body is one event type's `data` (ingest/events.py)."""
    return Endpoint(
        handle=functools.partial(message_apply, event_type),
        queued=functools.partial(message_parsed, event_type),
    )


# Order ids may hold "/" (as the URLconf's `path` converter): each pattern ends apart.
ENDPOINTS: dict[re.Pattern, Endpoint] = {
    re.compile(r"orders"): _change("order.created"),
    re.compile(r"orders/(?P<order_id>.+)/shipments"): _change("shipment.confirmed"),
    re.compile(r"orders/(?P<order_id>.+)/cancellations"): _change("order.cancelled"),
    re.compile(r"orders/(?P<order_id>.+)/backorders"): _change("items.backordered"),
    re.compile(r"events"): Endpoint(event_apply, event_parsed),
    re.compile(r"events/batch"): Endpoint(events_batch_apply),
    re.compile(r"trackers"): Endpoint(tracker_answer),
    re.compile(r"returns/(?P<return_id>[^/]+)/approve"): Endpoint(return_approve_answer),
    re.compile(r"returns/(?P<return_id>[^/]+)/refuse"): Endpoint(return_refuse_answer),
    re.compile(r"returns/(?P<return_id>[^/]+)/label"): Endpoint(return_label_answer),
    re.compile(r"webhooks"): Endpoint(webhook_create_answer),
    re.compile(r"webhooks/(?P<webhook_id>[^/]+)/enable"): Endpoint(webhook_enable_answer),
    re.compile(r"tracking/webhook"): Endpoint(tracking_webhook_create_answer),
    re.compile(r"tracking/batch"): Endpoint(tracking_batch_answer),
    re.compile(r"tracking/(?P<tracking_number>[^/]+)/events"): Endpoint(tracking_report_answer),
    re.compile(r"tracking/(?P<tracking_number>[^/]+)/refresh"): Endpoint(tracking_refresh_answer),
    re.compile(r"track/shipment"): Endpoint(track_shipment_answer),
    re.compile(r"track/shipments"): Endpoint(track_shipments_answer),
    re.compile(r"track/details"): Endpoint(track_details_answer),
    re.compile(r"track/update"): Endpoint(track_update_answer),
}


def api_endpoint(path: str) -> tuple[Endpoint, dict[str, str]]:
    """The endpoint a message was posted to, and its path's arguments."""
    if path.startswith(API_PREFIX):
        for pattern, endpoint in ENDPOINTS.items():
            if match := pattern.fullmatch(path.removeprefix(API_PREFIX)):
                return endpoint, match.groupdict()
    raise NotFound(f"No endpoint takes messages posted to {path}.", code="NOT_FOUND")
