"""The endpoints that exist only in seed 002's Tracking API (API.md "The seed-002 style tracking
API"). They answer in seed 002's style whatever the key, on the same rows and services as the
native tracking endpoints: a merchant's update goes through tracking/api/views.py's report."""

from drf_spectacular.utils import OpenApiExample, extend_schema_view
from rest_framework import serializers

from carriers.detection import normalize_tracking_number
from carriers.vocabulary import DEFAULT_STATUS_DETAIL, ExceptionCode, Status, StatusDetail
from flextracker.api.envelope import EnvelopePaginationParameters, iso, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi, validated
from flextracker.errors import NotFound, PayloadTooLarge
from flextracker.openapi import documented
from inbound.api.base import InboundApi
from inbound.services import Result, unknown_fields_noted
from merchants.models import Merchant
from orders.models import Shipment
from orders.selectors import order_get_for_merchant
from tracking.api.serializers import (
    SEED_EXAMPLE,
    Seed002BatchItem,
    Seed002OrderShipment,
    Seed002ShipmentTrack,
    Seed002Tracking,
    Seed002TrackingDetails,
)
from tracking.api.views import (
    MAX_BATCH_NUMBERS,
    AnyStyleStatusField,
    ReportedLocation,
    reported_event,
    shipment_report,
)
from tracking.representation import SEED002, proof_of_delivery, tracking_not_found
from tracking.selectors import (
    shipment_get_by_number,
    shipment_get_by_public_id,
    shipments_by_numbers,
    shipments_by_public_ids,
    shipments_in_flight,
    shipments_of_order,
)

TAGS = ["Tracking (seed 002 style)"]

# A seed-002 status reported by the merchant, in our vocabulary (seed002_status maps it back).
REPORTED_AS = {
    "LABEL_CREATED": (Status.PRE_TRANSIT, StatusDetail.LABEL_CREATED),
    "PICKUP_SCHEDULED": (Status.PRE_TRANSIT, StatusDetail.PICKUP_SCHEDULED),
    "PICKED_UP": (Status.IN_TRANSIT, StatusDetail.PICKED_UP),
    "IN_TRANSIT": (Status.IN_TRANSIT, StatusDetail.IN_TRANSIT),
    "OUT_FOR_DELIVERY": (Status.OUT_FOR_DELIVERY, StatusDetail.OUT_FOR_DELIVERY),
    "DELIVERED": (Status.DELIVERED, StatusDetail.DELIVERED),
    "EXCEPTION": (Status.EXCEPTION, DEFAULT_STATUS_DETAIL[Status.EXCEPTION]),
    "RETURNED": (Status.RETURN_TO_SENDER, DEFAULT_STATUS_DETAIL[Status.RETURN_TO_SENDER]),
}


def _example(name: str, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


def _answer_example(value) -> OpenApiExample:
    return OpenApiExample(
        "Seed 002's answer",
        value={"success": True, "data": value, "warnings": []},
        response_only=True,
        status_codes=["200"],
    )


# --- Inputs ------------------------------------------------------------------------------------


class ShipmentRef(InputSerializer):
    trackingNumber = serializers.CharField(max_length=100, required=False)
    shipmentId = serializers.CharField(max_length=100, required=False)

    def validate(self, attrs):
        if not (attrs.get("trackingNumber") or attrs.get("shipmentId")):
            raise serializers.ValidationError(
                {"trackingNumber": ["Give trackingNumber or shipmentId."]}, code="required"
            )
        return attrs


class ShipmentRefs(InputSerializer):
    trackingNumbers = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, required=False
    )
    shipmentIds = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, required=False
    )

    def validate(self, attrs):
        if not (attrs.get("trackingNumbers") or attrs.get("shipmentIds")):
            raise serializers.ValidationError(
                {"trackingNumbers": ["Give trackingNumbers or shipmentIds."]}, code="required"
            )
        return attrs


class UpdateLocation(ReportedLocation):
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)


class TrackUpdateInput(ShipmentRef):
    status = AnyStyleStatusField()
    timestamp = serializers.DateTimeField()
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    location = UpdateLocation(required=False)
    exceptionCode = serializers.ChoiceField(
        choices=ExceptionCode.values, required=False, allow_null=True, allow_blank=True
    )
    recipient = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    signature = serializers.URLField(max_length=1000, required=False, allow_blank=True, default="")


# --- Answers (plain functions: replay calls them too) ------------------------------------------


def _shipment_not_found(shipment_id: str) -> NotFound:
    return NotFound(
        f"Shipment {shipment_id} was not found.",
        code="TRACKING_NOT_FOUND",
        details={"shipmentId": shipment_id},
    )


def _shipment(merchant: Merchant, ref: dict) -> Shipment:
    """The merchant's shipment a body names, by shipmentId or else by trackingNumber."""
    if shipment_id := ref.get("shipmentId"):
        shipment = shipment_get_by_public_id(merchant, shipment_id)
        if shipment is None:
            raise _shipment_not_found(shipment_id)
        return shipment
    shipment = shipment_get_by_number(merchant, ref["trackingNumber"])
    if shipment is None:
        raise tracking_not_found(ref["trackingNumber"])
    return shipment


def track_shipment_answer(merchant: Merchant, payload) -> Result:
    """POST /track/shipment."""
    shipment = _shipment(merchant, validated(ShipmentRef, payload, "TRACKER"))
    return unknown_fields_noted(Result(200, SEED002.single(shipment)), ShipmentRef, payload)


def track_details_answer(merchant: Merchant, payload) -> Result:
    """POST /track/details: the object with proof of delivery."""
    shipment = _shipment(merchant, validated(ShipmentRef, payload, "TRACKER"))
    details = {**SEED002.single(shipment), "proofOfDelivery": proof_of_delivery(shipment)}
    return unknown_fields_noted(Result(200, details), ShipmentRef, payload)


def track_shipments_answer(merchant: Merchant, payload) -> Result:
    """POST /track/shipments: one item per number or id asked, in order."""
    refs = validated(ShipmentRefs, payload, "TRACKER")
    by_id = "shipmentIds" in refs and "trackingNumbers" not in refs
    asked = refs["shipmentIds"] if by_id else refs["trackingNumbers"]
    if len(asked) > MAX_BATCH_NUMBERS:
        raise PayloadTooLarge(f"At most {MAX_BATCH_NUMBERS} shipments per request.")
    if by_id:
        found = shipments_by_public_ids(merchant, asked)
        items = [_item("shipmentId", i, found.get(i.lower())) for i in asked]
    else:
        found = shipments_by_numbers(merchant, asked)
        items = [_item("trackingNumber", n, found.get(normalize_tracking_number(n))) for n in asked]
    return unknown_fields_noted(Result(200, items), ShipmentRefs, payload)


def _item(key: str, asked: str, shipment: Shipment | None) -> dict:
    if shipment is None:
        missing = _shipment_not_found(asked) if key == "shipmentId" else tracking_not_found(asked)
        return {key: asked, "success": False, "error": missing.body()["error"]}
    return {key: asked, "success": True, "data": SEED002.shipment(shipment)}


def track_update_answer(merchant: Merchant, payload) -> Result:
    """POST /track/update: one merchant-reported event, as POST /tracking/{n}/events."""
    data = validated(TrackUpdateInput, payload, "EVENT")
    shipment = _shipment(merchant, data)
    status, detail = REPORTED_AS.get(data["status"]) or (
        data["status"],
        DEFAULT_STATUS_DETAIL[Status(data["status"])],
    )
    event = reported_event(
        {
            **data,
            "status": status,
            "statusDetail": detail,
            "location": data.get("location", {}),
            "signatureUrl": data["signature"],
        }
    )
    return unknown_fields_noted(
        shipment_report(merchant, shipment, [event], SEED002), TrackUpdateInput, payload
    )


def shipment_track_json(shipment: Shipment) -> dict:
    """GET /shipments/{shipmentId}/track: the object with its order and shipment metadata."""
    return {
        **SEED002.single(shipment),
        "reference": shipment.order.order_id if shipment.order else None,
        "shipmentInfo": {
            "createdAt": iso(shipment.created_at),
            "estimatedDelivery": iso(
                shipment.estimated_delivery_at or shipment.estimated_delivery_date
            ),
            "totalCost": None,  # what the shipping cost is not sent to us
            "currency": None,
        },
    }


# --- Views -------------------------------------------------------------------------------------

REF_EXAMPLES = [
    _example("By tracking number", {"trackingNumber": "1234567890"}),
    _example("By shipmentId", {"shipmentId": "660e8400-e29b-41d4-a716-446655440001"}),
]
NOT_FOUND_OR_NOT_YET = (
    "MISSING_TRACKER_DATA", "INVALID_TRACKER_DATA", "TRACKING_NOT_FOUND", "TRACKING_NOT_AVAILABLE"
)  # fmt: skip


@extend_schema_view(
    post=documented(
        summary="Track one shipment (seed 002)",
        description="By `trackingNumber` or `shipmentId`; answered in seed 002's style whatever "
        "the key. A shipment whose carrier has reported nothing yet: 404 "
        "`TRACKING_NOT_AVAILABLE` with `Retry-After`.",
        request=ShipmentRef,
        responses={200: Seed002Tracking},
        errors=NOT_FOUND_OR_NOT_YET,
        examples=[*REF_EXAMPLES, _answer_example(SEED_EXAMPLE)],
        tags=TAGS,
        operation_id="track_shipment",
    )
)
class TrackShipmentApi(InboundApi):
    entity = "TRACKER"
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload) -> Result:
        return track_shipment_answer(merchant, payload)


@extend_schema_view(
    post=documented(
        summary="Track many shipments (seed 002), up to 100, answered in order",
        description="`trackingNumbers` or `shipmentIds`. Each item has `success` and either "
        "`data` (seed 002's object) or `error` (`TRACKING_NOT_FOUND`). Over 100: 413.",
        request=ShipmentRefs,
        responses={200: Seed002BatchItem},
        many=True,
        errors=("MISSING_TRACKER_DATA", "INVALID_TRACKER_DATA"),
        examples=[
            _example("By tracking numbers", {"trackingNumbers": ["1234567890", "0987654321"]})
        ],
        tags=TAGS,
        operation_id="track_shipments",
    )
)
class TrackShipmentsApi(InboundApi):
    entity = "TRACKER"

    def handle(self, merchant: Merchant, payload) -> Result:
        return track_shipments_answer(merchant, payload)


@extend_schema_view(
    post=documented(
        summary="Tracking details with proof of delivery (seed 002)",
        description="The object of `/track/shipment` with `proofOfDelivery` (`recipient`, "
        "`signature` URL, `deliveredAt`; null until delivered).",
        request=ShipmentRef,
        responses={200: Seed002TrackingDetails},
        errors=NOT_FOUND_OR_NOT_YET,
        examples=REF_EXAMPLES,
        tags=TAGS,
        operation_id="track_details",
    )
)
class TrackDetailsApi(InboundApi):
    entity = "TRACKER"
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload) -> Result:
        return track_details_answer(merchant, payload)


@extend_schema_view(
    post=documented(
        summary="Update tracking status (seed 002): an event you report yourself",
        description="As `POST /tracking/{trackingNumber}/events`: deduplicated, never moves the "
        "status backwards, notifies as a carrier's event would. `status` in seed 002's "
        "vocabulary (or TRACKING.md's).",
        request=TrackUpdateInput,
        responses={200: Seed002Tracking},
        errors=("MISSING_EVENT_DATA", "INVALID_EVENT_DATA", "TRACKING_NOT_FOUND"),
        examples=[
            _example(
                "Delivered",
                {
                    "trackingNumber": "1234567890",
                    "status": "DELIVERED",
                    "description": "Delivered to recipient",
                    "timestamp": "2025-02-21T16:45:00Z",
                    "location": {
                        "city": "Houston",
                        "state": "TX",
                        "postalCode": "77001",
                        "country": "US",
                    },
                },
            ),
        ],
        tags=TAGS,
        operation_id="track_update",
    )
)
class TrackUpdateApi(InboundApi):
    entity = "EVENT"
    not_found_code = "TRACKING_NOT_FOUND"

    def handle(self, merchant: Merchant, payload) -> Result:
        return track_update_answer(merchant, payload)


@extend_schema_view(
    get=documented(
        summary="Shipments in transit (seed 002): not yet in a terminal status",
        responses={200: Seed002Tracking},
        many=True,
        paginated=True,
        errors=("INVALID_TRACKER_DATA",),
        parameters=[EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="tracking_in_transit",
    )
)
class TrackingInTransitApi(MerchantApi):
    entity = "TRACKER"  # a bad page or limit: INVALID_TRACKER_DATA
    replica_reads = True

    def get(self, request):
        return paginated(request, shipments_in_flight(self.merchant()), SEED002.shipment)


@extend_schema_view(
    get=documented(
        summary="Track by load ID (seed 002): every shipment of an order",
        description="`loadId` is the order's `orderId`.",
        responses={200: Seed002OrderShipment},
        many=True,
        errors=("ORDER_NOT_FOUND",),
        tags=TAGS,
        operation_id="tracking_lookup",
    )
)
class TrackingLookupApi(MerchantApi):
    not_found_code = "ORDER_NOT_FOUND"
    replica_reads = True

    def get(self, request, load_id: str):
        merchant = self.merchant()
        shipments = list(shipments_of_order(merchant, load_id))
        if not shipments and order_get_for_merchant(merchant, load_id) is None:
            raise NotFound(f"Order {load_id} was not found.", details={"loadId": load_id})
        return success([SEED002.shipment(shipment) for shipment in shipments])


@extend_schema_view(
    get=documented(
        summary="Track by shipment ID (seed 002)",
        description="Seed 002's object plus `reference` (the orderId) and `shipmentInfo`.",
        responses={200: Seed002ShipmentTrack},
        errors=("TRACKING_NOT_FOUND", "TRACKING_NOT_AVAILABLE"),
        tags=TAGS,
        operation_id="shipment_track",
    )
)
class ShipmentTrackApi(MerchantApi):
    not_found_code = "TRACKING_NOT_FOUND"
    replica_reads = True

    def get(self, request, shipment_id: str):
        shipment = shipment_get_by_public_id(self.merchant(), shipment_id)
        if shipment is None:
            raise _shipment_not_found(shipment_id)
        return success(shipment_track_json(shipment))
