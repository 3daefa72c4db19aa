"""The sandbox carrier (TRACKING.md): numbers `SBX<SCENARIO><digits>` walk a fixed story, one
step every SANDBOX_MINUTES_PER_STEP minutes from when the shipment was created, so a demo moves
within the hour and tests can freeze time at any step. An adapter like the others: same
interface, same poller, same normalization."""

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from carriers.base import Cache, Credentials, TrackingResult, TrackQuery
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import ExceptionCode, Status, StatusDetail, event_type_for

NUMBER = re.compile(r"^SBX(DELIVERED|EXCEPTION|RETURN|PICKUP|FAILED|LOST)(\d+)$")

ROUTES = (
    (Location("Austin", "TX", "78701", "US"), Location("Dallas", "TX", "75201", "US"),
     Location("Denver", "CO", "80202", "US")),
    (Location("Memphis", "TN", "38118", "US"), Location("Louisville", "KY", "40209", "US"),
     Location("Chicago", "IL", "60601", "US")),
    (Location("Reno", "NV", "89501", "US"), Location("Sacramento", "CA", "95814", "US"),
     Location("Portland", "OR", "97201", "US")),
)  # fmt: skip

S, D = Status, StatusDetail
# (status, detail, text, where: 0 origin / 1 hub / 2 destination, exception code)
START = (
    (S.PRE_TRANSIT, D.LABEL_CREATED, "Shipping label created", 0, ""),
    (S.IN_TRANSIT, D.PICKED_UP, "Picked up by the carrier", 0, ""),
    (S.IN_TRANSIT, D.DEPARTED_FACILITY, "Departed facility", 0, ""),
    (S.IN_TRANSIT, D.ARRIVED_AT_FACILITY, "Arrived at facility", 1, ""),
    (S.IN_TRANSIT, D.DEPARTED_FACILITY, "Departed facility", 1, ""),
    (S.IN_TRANSIT, D.ARRIVED_AT_FACILITY, "Arrived at destination facility", 2, ""),
)
OUT = (S.OUT_FOR_DELIVERY, D.OUT_FOR_DELIVERY, "Out for delivery", 2, "")
NOBODY_HOME = (S.FAILED_ATTEMPT, D.RECIPIENT_NOT_AVAILABLE, "Delivery attempted: nobody home", 2,
               ExceptionCode.RECIPIENT_NOT_AVAILABLE)  # fmt: skip
DELIVERED = (S.DELIVERED, D.DELIVERED, "Delivered, front door", 2, "")
SCENARIOS = {
    "DELIVERED": (*START, OUT, DELIVERED),
    "EXCEPTION": (*START, OUT, (S.EXCEPTION, D.ADDRESS_ISSUE, "Address problem: the driver "
                  "could not find the address", 2, ExceptionCode.INCORRECT_ADDRESS)),
    "RETURN": (*START, OUT, NOBODY_HOME,
               (S.RETURN_TO_SENDER, D.RETURN_TO_SENDER, "Returning to sender", 2, "")),
    "PICKUP": (*START, (S.AVAILABLE_FOR_PICKUP, D.AVAILABLE_FOR_PICKUP,
                        "Ready for pickup at the carrier's counter", 2, ""),
               (S.DELIVERED, D.DELIVERED_TO_AGENT, "Picked up by the customer", 2, "")),
    "FAILED": (*START, OUT, NOBODY_HOME, OUT, DELIVERED),
    "LOST": START[:4],  # then silence: the poller's delay and expiry rules take over
}  # fmt: skip


class Sandbox:
    code: ClassVar[str] = "sandbox"
    batch_size: ClassVar[int] = 100
    minutes_per_step: ClassVar[float] = 10.0

    def __init__(self, credentials: Credentials | None = None, cache: Cache | None = None,
                 session=None, *, minutes_per_step: float | None = None):  # fmt: skip
        self.step = timedelta(minutes=minutes_per_step or self.minutes_per_step)

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        now = datetime.now(UTC)
        return {query.tracking_number: self._result(query, now) for query in queries}

    def _result(self, query: TrackQuery, now: datetime) -> TrackingResult:
        match = NUMBER.match(query.tracking_number)
        if match is None:
            problem = "Not a sandbox number: SBX<SCENARIO><digits>."
            return TrackingResult(query.tracking_number, found=False, problem=problem)
        scenario, digits = match.groups()
        route = ROUTES[int(digits) % len(ROUTES)]
        steps = SCENARIOS[scenario]
        events = tuple(
            self._event(query.created_at + self.step * index, step, route)
            for index, step in enumerate(steps)
            if query.created_at + self.step * index <= now
        )
        return TrackingResult(
            query.tracking_number,
            events=events,
            estimated_delivery_date=(query.created_at + self.step * 7).date(),
            service="Sandbox Ground",
            origin=route[0],
            destination=route[2],
        )

    @staticmethod
    def _event(at: datetime, step: tuple, route: tuple[Location, ...]) -> CarrierEvent:
        status, detail, text, where, exception_code = step
        return CarrierEvent(
            occurred_at=at, status=status, status_detail=detail,
            event_type=event_type_for(status, detail), description=text, location=route[where],
            exception_code=exception_code, recipient="J. DOE" if detail == D.DELIVERED else "",
            raw_code=f"SBX-{detail.upper()}", raw_description=text,
        )  # fmt: skip
