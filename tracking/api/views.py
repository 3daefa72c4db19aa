"""Tracking endpoints of API.md: a shipment by number, many at once, the event feed, and events
the merchant reports for carriers we cannot poll."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers

from carriers.detection import normalize_tracking_number
from carriers.events import CarrierEvent, Location
from carriers.seed002 import SEED002_STATUSES
from carriers.vocabulary import (
    DEFAULT_STATUS_DETAIL,
    EXCEPTION_CODE_BY_DETAIL,
    CarrierCode,
    EventSource,
    EventType,
    ExceptionCode,
    Status,
    StatusDetail,
    event_type_for,
)
from flextracker.api.envelope import EnvelopePaginationParameters, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, validated
from flextracker.errors import PayloadTooLarge, RateLimited
from flextracker.openapi import STYLE_PARAMETER, STYLED, documented
from inbound.api.base import InboundApi
from inbound.services import Result, unknown_fields_noted
from merchants.models import Merchant
from merchants.selectors import tracked_carriers
from orders.services import carrier_not_tracked_warning
from tracking.api.serializers import (
    SEED_EXAMPLE,
    StyledListedEvent,
    StyledTracking,
    TrackingBatchItem,
)
from tracking.on_demand import shipment_follow
from tracking.polling import RefreshTooSoon, shipment_refresh
from tracking.representation import (
    NATIVE,
    Representation,
    representation_for,
    tracking_not_found,
)
from tracking.selectors import shipment_get_by_number, shipments_by_numbers, tracking_events_list
from tracking.services import shipment_apply_events

MAX_BATCH_NUMBERS = 100
MAX_REPORTED_EVENTS = 500
TAGS = ["Tracking"]
CARRIER_PARAMETER = OpenApiParameter(
    "carrier", str, enum=CarrierCode.values, description="When several carriers share a number."
)


def _represented(request) -> Representation:
    """The request's representation, by the style MerchantApi chose for it."""
    return representation_for(request.style)


@extend_schema_view(
    get=documented(
        summary="A shipment's tracking: status, estimated delivery, events newest first",
        description="A number never sent is followed from now on when its carrier is given or "
        "detected and can be polled (track any number): the carrier is asked at once, for a few "
        "seconds at most; with nothing yet, `status` is `unknown` with warning "
        "`TRACKING_PENDING` (`TRACKING_NOT_AVAILABLE` in the seed-002 style). Asked again, it is "
        "the same shipment. Several candidate carriers: 422 naming them in "
        "`details.candidates`. " + STYLED,
        responses={200: StyledTracking},
        errors=(
            "TRACKING_NOT_FOUND",
            "TRACKING_NOT_AVAILABLE",
            "INVALID_TRACKING_DATA",
            "INVALID_REQUEST",
        ),
        parameters=[CARRIER_PARAMETER, STYLE_PARAMETER],
        examples=[
            OpenApiExample(
                "A tracking-api key (seed 002)",
                value={"success": True, "data": SEED_EXAMPLE, "warnings": []},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=TAGS,
        operation_id="tracking_get",
    )
)
class TrackingDetailApi(MerchantApi):
    not_found_code = "TRACKING_NOT_FOUND"
    replica_reads = True  # a number never seen is followed on the primary, then read there

    def get(self, request, tracking_number: str):
        merchant = self.merchant()
        carrier = request.query_params.get("carrier", "")
        represented = _represented(request)
        tracked = tracked_carriers(merchant)
        shipment = shipment_get_by_number(merchant, tracking_number, carrier)
        if shipment is not None:
            return success(represented.single(shipment, tracked=tracked))
        # a number never sent: followed from now on (track any number)
        followed = shipment_follow(
            merchant=merchant, tracking_number=tracking_number, carrier=carrier
        )
        shipment = shipment_get_by_number(merchant, followed.tracking_number, followed.carrier)
        warnings = [represented.pending_warning] if shipment.status == Status.UNKNOWN else []
        return success(represented.shipment(shipment, tracked=tracked), warnings=warnings)


class TrackingBatchInput(InputSerializer):
    trackingNumbers = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False
    )


@extend_schema_view(
    post=documented(
        summary="Many tracking numbers at once (up to 100), answered in order",
        description="Each item has `success` and either `data` (the tracking object) or "
        "`error` (`TRACKING_NOT_FOUND`). More than 100 numbers is a 413. " + STYLED,
        parameters=[STYLE_PARAMETER],
        request=TrackingBatchInput,
        responses={200: TrackingBatchItem},
        many=True,
        errors=("MISSING_TRACKER_DATA", "INVALID_TRACKER_DATA"),
        examples=[
            OpenApiExample(
                "Two numbers",
                request_only=True,
                value={"trackingNumbers": ["1Z5R89390357567127", "SBXDELIVERED0001"]},
            )
        ],
        tags=TAGS,
        operation_id="tracking_batch",
    )
)
class TrackingBatchApi(InboundApi):
    entity = "TRACKER"

    def handle(self, merchant: Merchant, payload) -> Result:
        return tracking_batch_answer(merchant, payload, _represented(self.request))


def tracking_batch_answer(
    merchant: Merchant, payload, represented: Representation = NATIVE
) -> Result:
    """POST /tracking/batch's message answered (a plain function: replay calls it too, in the
    native style: the log keeps the body, not the request's style)."""
    numbers = payload.get("trackingNumbers") if isinstance(payload, dict) else None
    if isinstance(numbers, list) and len(numbers) > MAX_BATCH_NUMBERS:
        raise PayloadTooLarge(f"At most {MAX_BATCH_NUMBERS} tracking numbers per request.")
    numbers = validated(TrackingBatchInput, payload, "TRACKER")["trackingNumbers"]
    found = shipments_by_numbers(merchant, numbers)
    tracked = tracked_carriers(merchant)
    items = [_batch_item(n, found, tracked, represented) for n in numbers]
    return unknown_fields_noted(Result(200, items), TrackingBatchInput, payload)


def _batch_item(number: str, found: dict, tracked: set[str], represented: Representation) -> dict:
    shipment = found.get(normalize_tracking_number(number))
    if shipment is None:
        return {
            "trackingNumber": number,
            "success": False,
            "error": tracking_not_found(number).body()["error"],
        }
    return {
        "trackingNumber": number,
        "success": True,
        "data": represented.shipment(shipment, tracked=tracked),
    }


@extend_schema_field(
    {
        "type": "string",
        "description": "A status in either vocabulary: ours (TRACKING.md: "
        + ", ".join(Status.values)
        + ") or seed 002's ("
        + ", ".join(SEED002_STATUSES)
        + ").",
    }
)
class AnyStyleStatusField(serializers.ChoiceField):
    """A status of either vocabulary. Documented as a string naming both: one enum holding
    `in_transit` and `IN_TRANSIT` cannot become a typed client's enum (their names clash)."""

    def __init__(self, **kwargs):
        super().__init__(choices=[*Status.values, *SEED002_STATUSES], **kwargs)


class EventsListQuery(InputSerializer):
    shipmentIds = serializers.CharField(required=False, help_text="Comma-separated.")
    trackingNumbers = serializers.CharField(required=False, help_text="Comma-separated.")
    orderIds = serializers.CharField(required=False, help_text="Comma-separated.")
    status = AnyStyleStatusField(required=False)
    eventType = serializers.ChoiceField(choices=EventType.values, required=False)
    after = serializers.DateTimeField(required=False)
    before = serializers.DateTimeField(required=False)


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


@extend_schema_view(
    get=documented(
        summary="Tracking events across shipments, newest first",
        responses={200: StyledListedEvent},
        many=True,
        paginated=True,
        errors=("INVALID_EVENT_DATA",),
        parameters=[EventsListQuery, EnvelopePaginationParameters, STYLE_PARAMETER],
        description=STYLED,
        tags=TAGS,
        operation_id="tracking_events_list",
    )
)
class TrackingEventsListApi(MerchantApi):
    entity = "EVENT"
    replica_reads = True

    def get(self, request):
        query = self.validated(EventsListQuery, request.query_params)
        events = tracking_events_list(
            self.merchant(),
            shipment_ids=_split(query.get("shipmentIds")),
            tracking_numbers=_split(query.get("trackingNumbers")),
            order_ids=_split(query.get("orderIds")),
            status=query.get("status", ""),
            event_type=query.get("eventType", ""),
            after=query.get("after"),
            before=query.get("before"),
        )
        return paginated(request, events, _represented(request).listed_event)


class ReportedLocation(InputSerializer):
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postalCode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True, default="")


class ReportedEvent(InputSerializer):
    timestamp = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Status.values)
    statusDetail = serializers.ChoiceField(choices=StatusDetail.values, required=False)
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    location = ReportedLocation(required=False)
    exceptionCode = serializers.ChoiceField(
        choices=ExceptionCode.values, required=False, allow_null=True, allow_blank=True
    )
    recipient = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    signatureUrl = serializers.URLField(
        max_length=1000, required=False, allow_blank=True, default=""
    )

    def validate_timestamp(self, value):
        if value > timezone.now() + timedelta(days=1):
            raise serializers.ValidationError("A tracking event cannot be more than a day ahead.")
        return value


class ReportedEventsInput(InputSerializer):
    events = ReportedEvent(many=True, allow_empty=False, max_length=MAX_REPORTED_EVENTS)


def reported_event(data: dict) -> CarrierEvent:
    """A merchant's own event, in TRACKING.md's vocabulary, as a normalized event."""
    status = data["status"]
    detail = data.get("statusDetail") or DEFAULT_STATUS_DETAIL[Status(status)]
    exception_code = data.get("exceptionCode") or ""
    if not exception_code and status in (Status.FAILED_ATTEMPT, Status.EXCEPTION):
        exception_code = EXCEPTION_CODE_BY_DETAIL.get(detail, "")
    location = data.get("location", {})
    return CarrierEvent(
        occurred_at=data["timestamp"],
        status=status,
        status_detail=detail,
        event_type=event_type_for(status, detail),
        description=data["description"] or str(StatusDetail(detail).label),
        location=Location(
            city=location.get("city", ""),
            state=location.get("state", ""),
            postal_code=location.get("postalCode", ""),
            country=location.get("country", "").upper(),
        ),
        exception_code=exception_code,
        recipient=data["recipient"],
        signature_url=data["signatureUrl"],
        raw_code=status,
        raw_description=data["description"],
        raw=_jsonable(data),
    )


def _jsonable(data: dict) -> dict:
    return {key: value.isoformat() if key == "timestamp" else value for key, value in data.items()}


@extend_schema_view(
    post=documented(
        summary="Report events yourself (own fleet, LTL, carriers we cannot poll)",
        description="Events in TRACKING.md's vocabulary go through the same deduplication and "
        "never-backwards rule as carrier events: a repeat is a no-op, a late older event is "
        "stored without moving the status. Up to 500 events per request. When several carriers "
        "share the number, the newest shipment is meant.",
        request=ReportedEventsInput,
        responses={200: StyledTracking},
        errors=(
            "MISSING_EVENT_DATA",
            "INVALID_EVENT_DATA",
            "TRACKING_NOT_FOUND",
            "INVALID_REQUEST",
        ),
        parameters=[STYLE_PARAMETER],
        examples=[
            OpenApiExample(
                "Delivered by our own van",
                request_only=True,
                value={
                    "events": [
                        {
                            "timestamp": "2026-11-21T16:30:00Z",
                            "status": "delivered",
                            "statusDetail": "delivered",
                            "description": "Left at front door",
                            "location": {"city": "Austin", "state": "TX", "country": "US"},
                            "recipient": "J. Doe",
                        }
                    ]
                },
            )
        ],
        tags=TAGS,
        operation_id="tracking_events_report",
    )
)
class TrackingReportApi(InboundApi):
    entity = "EVENT"
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload, tracking_number: str) -> Result:
        return tracking_report_answer(
            merchant, payload, tracking_number, represented=_represented(self.request)
        )


def tracking_report_answer(
    merchant: Merchant, payload, tracking_number: str, represented: Representation = NATIVE
) -> Result:
    """POST /tracking/{trackingNumber}/events's message answered (replay calls it too, in the
    native style)."""
    shipment = shipment_get_by_number(merchant, tracking_number)
    if shipment is None:
        raise tracking_not_found(tracking_number)
    data = validated(ReportedEventsInput, payload, "EVENT")
    events = [reported_event(event) for event in data["events"]]
    answer = shipment_report(merchant, shipment, events, represented)
    return unknown_fields_noted(answer, ReportedEventsInput, payload)


def shipment_report(
    merchant: Merchant, shipment, events: list[CarrierEvent], represented: Representation
) -> Result:
    """A merchant's own events applied to its shipment, answered with the shipment."""
    shipment_apply_events(shipment_id=shipment.pk, events=events, source=EventSource.MERCHANT)
    refreshed = shipment_get_by_number(merchant, shipment.tracking_number, shipment.carrier)
    return Result(200, represented.shipment(refreshed, tracked=tracked_carriers(merchant)))


@extend_schema_view(
    post=documented(
        summary="Ask the carrier now (at most once a minute per shipment)",
        description="Answers with the refreshed tracking object. A carrier we cannot poll is "
        "answered as it stands, with warning `CARRIER_NOT_TRACKED`. Within a minute of the last "
        "check: 429 `RATE_LIMITED` with `Retry-After`.",
        request=None,
        responses={200: StyledTracking},
        errors=("TRACKING_NOT_FOUND", "RATE_LIMITED", "IDEMPOTENCY_CONFLICT"),
        tags=TAGS,
        operation_id="tracking_refresh",
    )
)
class TrackingRefreshApi(InboundApi):
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload, tracking_number: str) -> Result:
        return tracking_refresh_answer(
            merchant, payload, tracking_number, represented=_represented(self.request)
        )


def tracking_refresh_answer(
    merchant: Merchant, _payload, tracking_number: str, represented: Representation = NATIVE
) -> Result:
    """POST /tracking/{trackingNumber}/refresh answered (replay calls it too, natively)."""
    shipment = shipment_get_by_number(merchant, tracking_number)
    if shipment is None:
        raise tracking_not_found(tracking_number)
    try:
        report = shipment_refresh(shipment_id=shipment.pk)
    except RefreshTooSoon as too_soon:
        raise RateLimited(str(too_soon), retry_after=too_soon.retry_after) from too_soon
    warnings = [carrier_not_tracked_warning(shipment.carrier)] if report.not_tracked else []
    refreshed = shipment_get_by_number(merchant, shipment.tracking_number, shipment.carrier)
    tracked = tracked_carriers(merchant)
    return Result(200, represented.shipment(refreshed, tracked=tracked), warnings)
