"""What the customer tracking page shows, as plain data built from an order, a tracker, a group,
or demo data (branding preview). The template only renders this. Build it inside the customer's
language (translation.override) so the words come out translated."""

import functools
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape

from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from carriers.links import public_tracking_url
from carriers.vocabulary import (
    OFF_COURSE_STATUSES,
    TERMINAL_STATUSES,
    CarrierCode,
    Status,
    StatusDetail,
)
from orders.models import Order, ReturnRequest, ReturnStatus, Shipment, Tracker
from orders.representation import prediction_for
from orders.selectors import order_return_options

PROGRESS_STEPS = (Status.PRE_TRANSIT, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERED)
PROGRESS_POSITION = {
    Status.UNKNOWN: 0,
    Status.PRE_TRANSIT: 1,
    Status.IN_TRANSIT: 2,
    Status.FAILED_ATTEMPT: 3,
    Status.EXCEPTION: 2,
    Status.RETURN_TO_SENDER: 2,
    Status.EXPIRED: 2,
    Status.AVAILABLE_FOR_PICKUP: 3,
    Status.OUT_FOR_DELIVERY: 3,
    Status.DELIVERED: 4,
}
HISTORY_SHOWN = 3  # the newest events shown before "Show all"
CARRIER_LOGOS = {code: f"carriers/{code}.svg" for code in CarrierCode.values}


@dataclass(frozen=True, slots=True)
class ItemLine:
    name: str
    quantity: int
    image_url: str = ""  # shown only over https: the page's CSP loads no plain-http image
    expected_date: date | None = None

    @property
    def image(self) -> str:
        return self.image_url if self.image_url.startswith("https://") else ""


@dataclass(frozen=True, slots=True)
class ProofOfDelivery:
    """What the carrier recorded at delivery: who received it (shortened: "J. Doe"), and a
    link to the signature when the carrier gives one."""

    received_by: str
    signature_url: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    occurred_at: datetime
    description: str  # our words, in the customer's language
    place: str
    status: str
    carrier_note: str = ""  # the carrier's own words, when they say more than ours


@dataclass(frozen=True, slots=True)
class Banner:
    """Bad news in plain words, and what the customer can do about it."""

    tone: str  # "warning" or "info"
    title: str
    advice: str
    # The contact button's words when the customer should reach the merchant about it.
    contact_label: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    done: bool = False
    current: bool = False
    problem: bool = False


@dataclass(frozen=True, slots=True)
class ShipmentCard:
    carrier: str
    carrier_name: str
    carrier_logo: str
    tracking_number: str
    tracking_url: str
    status: str
    status_label: str
    progress: int
    estimated_delivery: date | None
    delivered_at: datetime | None
    banner: Banner | None
    items: list[ItemLine]
    timeline: list[TimelineEntry]
    steps: list[Step] = field(default_factory=list)
    proof: ProofOfDelivery | None = None
    predicted: tuple[date, date, int] | None = None  # our estimate: earliest, latest, deliveries
    last_checked_at: datetime | None = None  # when the carrier was last asked
    can_check: bool = False  # "Check for updates": a tracked shipment that can still change
    event_count: int = 0  # its events in all: `timeline` may hold only the newest

    @property
    def recent_history_html(self) -> str:
        """The newest HISTORY_SHOWN events; the rest are behind "Show all"."""
        return _history_html(self.timeline[:HISTORY_SHOWN])

    @property
    def older_history_html(self) -> str:
        return _history_html(self.timeline[HISTORY_SHOWN:])

    @property
    def older_count(self) -> int:
        return max(self.event_count - HISTORY_SHOWN, 0)

    @property
    def history_complete(self) -> bool:
        """Every event is in `timeline`; else "Show all" links to the package's own page."""
        return len(self.timeline) >= self.event_count


def _history_html(timeline: list[TimelineEntry]) -> str:
    """A history grouped by day, as carriers show it: a heading per day, a time per row, in the
    active language and time zone. Rendered here rather than in the template: a page can hold
    hundreds of rows (benchmarked in docs/benchmarks.md)."""
    language = get_language()
    local = ((timezone.localtime(entry.occurred_at), entry) for entry in timeline)
    days = []
    for day, entries in itertools.groupby(local, key=lambda pair: pair[0].date()):
        rows = "\n".join(_timeline_row(language, moment, entry) for moment, entry in entries)
        days.append(
            f'<li class="day"><h4><time datetime="{day.isoformat()}">'
            f"{escape(_day_text(language, day))}</time></h4><ol>\n{rows}\n</ol></li>"
        )
    return mark_safe("\n".join(days))  # noqa: S308 - every value in them is escaped


def _timeline_row(language: str, moment: datetime, entry: TimelineEntry) -> str:
    shown = _time_text(language, moment.hour, moment.minute)
    return (
        f'<li><time datetime="{entry.occurred_at.isoformat()}">{escape(shown)}</time>'
        f'<span class="what">{escape(entry.description)}</span>'
        f"{_span('carrier-note', entry.carrier_note)}{_span('where', entry.place)}</li>"
    )


# Formatting a date is costly (Django's dateformat: ~25 µs) and a history repeats the same days
# and times of day, so each is formatted once per language. `language` is the active one; it is
# in the arguments so that the cache keeps one answer per language.
@functools.lru_cache(maxsize=4096)
def _day_text(language: str, day: date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


@functools.lru_cache(maxsize=4096)
def _time_text(language: str, hour: int, minute: int) -> str:
    # The locales' TIME_FORMAT shows hours and minutes, never seconds.
    return formats.time_format(time(hour, minute), "TIME_FORMAT")


def _span(css_class: str, text: str) -> str:
    return f'<span class="{css_class}">{escape(text)}</span>' if text else ""


@dataclass(frozen=True, slots=True)
class OrderPage:
    title: str
    order_id: str
    order_date: datetime | None
    destination: str
    shipments: list[ShipmentCard]
    awaiting: list[ItemLine] = field(default_factory=list)
    backordered: list[ItemLine] = field(default_factory=list)
    cancelled: list[ItemLine] = field(default_factory=list)
    returns: list["ReturnCard"] = field(default_factory=list)
    can_return: bool = False  # something delivered may be returned now

    @property
    def is_split(self) -> bool:
        return len(self.shipments) > 1

    @property
    def summary(self) -> "Summary | None":
        """Read it once per render (`{% with %}`): it is computed, in the active language and
        time zone."""
        return order_summary(self.shipments, awaiting=bool(self.awaiting or self.backordered))


@dataclass(frozen=True, slots=True)
class Summary:
    """The order's state in one glance: a big headline, then one line of counts."""

    headline: str  # "Arriving Thursday, December 10", "Delivered on …", "Needs your attention"
    line: str  # "1 of 2 packages delivered · 1 needs your attention"
    tone: str  # "problem", "done" or "moving"


def order_summary(cards: list["ShipmentCard"], *, awaiting: bool) -> Summary | None:
    if not cards:
        return None
    delivered = [c for c in cards if c.status == Status.DELIVERED]
    problems = [c for c in cards if c.status in OFF_COURSE_STATUSES]
    moving = [c for c in cards if c not in delivered and c not in problems]
    parts = []
    if len(cards) > 1 or awaiting:
        parts.append(ngettext("%(done)s of %(n)s package delivered",
                              "%(done)s of %(n)s packages delivered", len(cards))
                     % {"done": len(delivered), "n": len(cards)})  # fmt: skip
    if problems:
        parts.append(ngettext("%(n)s needs your attention", "%(n)s need your attention",
                              len(problems)) % {"n": len(problems)})  # fmt: skip
    tone = "problem" if problems else "done" if len(delivered) == len(cards) else "moving"
    return Summary(_headline(delivered, problems, moving, awaiting), " · ".join(parts), tone)


def _headline(delivered, problems, moving, awaiting: bool) -> str:
    if delivered and not problems and not moving and not awaiting:
        days = [timezone.localtime(c.delivered_at).date() for c in delivered if c.delivered_at]
        if not days:
            return _("Delivered")
        return _("Delivered on %(date)s") % {"date": _weekday_and_date(max(days))}
    if any(c.status == Status.OUT_FOR_DELIVERY for c in moving):
        return _("Arriving today")
    if any(c.status == Status.AVAILABLE_FOR_PICKUP for c in moving):
        return _("Ready for pickup")
    estimates = [c.estimated_delivery for c in moving if c.estimated_delivery]
    if estimates:
        return _("Arriving %(date)s") % {"date": _weekday_and_date(min(estimates))}
    predictions = [c.predicted for c in moving if c.predicted]
    if predictions:
        earliest, latest, _deliveries = min(predictions)
        return _("Expected %(earliest)s – %(latest)s") % {
            "earliest": _weekday_and_date(earliest),
            "latest": _weekday_and_date(latest),
        }
    if problems:
        return _("Needs your attention")
    return _("On its way") if moving else _("Partly delivered")


def _weekday_and_date(day: date) -> str:
    return _("%(weekday)s, %(date)s") % {
        "weekday": formats.date_format(day, "l"),
        "date": formats.date_format(day, "MONTH_DAY_FORMAT"),
    }


def _place(city: str, state: str, country: str) -> str:
    return ", ".join(part for part in (city, state, country) if part)


def _banner(shipment_status: str, detail: str, delayed: bool, merchant_name: str) -> Banner | None:
    """The message for an off-course shipment. Each says what happened and what to do, and,
    when the merchant must act, what the contact button says ("Contact Fred's about the
    address")."""
    contact = _("Contact %(merchant)s and they will sort it out.") % {"merchant": merchant_name}

    def about(topic: str) -> str:
        return topic % {"merchant": merchant_name}

    by_detail = {
        StatusDetail.ADDRESS_ISSUE: (_("The carrier could not find the delivery address."),
                                     contact, about(_("Contact %(merchant)s about the address"))),
        StatusDetail.RECIPIENT_NOT_AVAILABLE: (
            _("The carrier tried to deliver, but nobody was available."),
            _("They usually try again the next business day or leave a notice with pickup "
              "instructions."), ""),
        StatusDetail.BUSINESS_CLOSED: (_("The carrier tried to deliver, but the business was "
                                         "closed."), _("They will try again on a business day."),
                                       ""),
        StatusDetail.WEATHER_DELAY: (_("Bad weather is slowing deliveries."),
                                     _("No action is needed; the package is on its way."), ""),
        StatusDetail.MECHANICAL_DELAY: (_("A carrier vehicle problem is delaying the package."),
                                        _("No action is needed; the package is on its way."), ""),
        StatusDetail.CUSTOMS_HOLD: (_("The package is held in customs."),
                                    _("The carrier may contact you for details or duties."), ""),
        StatusDetail.REFUSED: (_("The delivery was refused."), contact,
                               about(_("Contact %(merchant)s about the refused delivery"))),
        StatusDetail.DAMAGED: (_("The package was damaged on the way."), contact,
                               about(_("Contact %(merchant)s about the damaged package"))),
        StatusDetail.LOST: (_("The carrier cannot find the package."), contact,
                            about(_("Contact %(merchant)s about the missing package"))),
    }  # fmt: skip
    about_delivery = about(_("Contact %(merchant)s about this delivery"))
    if shipment_status in (Status.EXCEPTION, Status.FAILED_ATTEMPT):
        title, advice, label = by_detail.get(
            detail, (_("There is a problem with this delivery."), contact, about_delivery)
        )
        return Banner("warning", title, advice, label)
    if shipment_status == Status.RETURN_TO_SENDER:
        return Banner("warning", _("The package is on its way back to %(merchant)s.")
                      % {"merchant": merchant_name}, contact,
                      about(_("Contact %(merchant)s about the return")))  # fmt: skip
    if shipment_status == Status.EXPIRED:
        return Banner("warning", _("The carrier has had no news of this package for 30 days."),
                      contact, about_delivery)  # fmt: skip
    if shipment_status == Status.AVAILABLE_FOR_PICKUP:
        return Banner(
            "info",
            _("Your package is ready for pickup."),
            _("Bring an ID; the carrier's page shows the address and opening hours."),
        )
    if delayed:
        return Banner("warning", _("This package is running late."),
                      _("The carrier still has it; no action is needed yet."))  # fmt: skip
    return None


def _status_label(status: str) -> str:
    if status == Status.UNKNOWN:  # the carrier has not scanned it yet; say so kindly
        return _("Waiting for the carrier's first scan")
    return str(Status(status).label)


def _steps(status: str, progress: int) -> list[Step]:
    """The progress line. A problem takes the place of the next step, marked as a problem (a
    return ends the line there: it is not coming)."""
    steps = [
        Step(str(step.label), done=position <= progress, current=position == progress)
        for position, step in enumerate(PROGRESS_STEPS, start=1)
    ]
    if status not in OFF_COURSE_STATUSES:
        return steps
    reached = [Step(step.label, done=True) for step in steps[:progress]]
    problem = Step(_problem_step_label(status), current=True, problem=True)
    rest = [] if status == Status.RETURN_TO_SENDER else steps[progress + 1 :]
    return [*reached, problem, *rest]


def _problem_step_label(status: str) -> str:
    if status == Status.EXCEPTION:
        return _("Problem")
    if status == Status.EXPIRED:
        return _("No news")
    return str(Status(status).label)


def shipment_card(shipment: Shipment, merchant_name: str) -> ShipmentCard:
    """The card of a shipment with its `history` (orders.selectors.with_history)."""
    progress = PROGRESS_POSITION.get(shipment.status, 0)
    language = get_language()
    return ShipmentCard(
        carrier=shipment.carrier,
        carrier_name=shipment.carrier_name,
        carrier_logo=CARRIER_LOGOS[shipment.carrier],
        tracking_number=shipment.tracking_number,
        tracking_url=public_tracking_url(shipment.carrier, shipment.tracking_number),
        status=shipment.status,
        status_label=_status_label(shipment.status),
        progress=progress,
        estimated_delivery=(
            None if shipment.status in OFF_COURSE_STATUSES else shipment.estimated_delivery_date
        ),
        delivered_at=shipment.delivered_at,
        banner=_banner(shipment.status, shipment.status_detail, shipment.is_delayed, merchant_name),
        items=[
            ItemLine(si.line_item.name, si.quantity, si.line_item.image_url)
            for si in shipment.items.all()
        ],
        timeline=[_timeline_entry(language, event) for event in shipment.history],
        steps=_steps(shipment.status, progress),
        proof=_proof_of_delivery(shipment) if shipment.status == Status.DELIVERED else None,
        predicted=prediction_for(shipment),
        last_checked_at=shipment.last_checked_at,
        can_check=shipment.status not in TERMINAL_STATUSES and shipment.carrier != "other",
        event_count=shipment.event_count,
    )


def _proof_of_delivery(shipment: Shipment) -> ProofOfDelivery | None:
    delivery = next((e for e in shipment.history if e.status == Status.DELIVERED), None)
    if delivery is None or not (delivery.recipient or delivery.signature_url):
        return None
    signature = delivery.signature_url if delivery.signature_url.startswith("https://") else ""
    return ProofOfDelivery(_short_name(delivery.recipient), signature)


def _short_name(name: str) -> str:
    """ "Jane Q. Doe" → "J. Doe": enough for the customer to recognise, not a full name on a
    page whose link may be forwarded. A single word ("FRONTDESK", "DOE") is left whole."""
    words = name.split()
    if len(words) < 2:
        return name.strip()
    return f"{words[0][0]}. {words[-1]}"


def _timeline_entry(language: str, event) -> TimelineEntry:
    """`event`: a row of orders.selectors.with_history; `language`: the active one."""
    ours, says_nothing_more = _event_words(language, event.status, event.status_detail)
    return TimelineEntry(
        event.occurred_at,
        ours,
        _place(event.city, event.state, event.country),
        event.status,
        carrier_note="" if event.description.strip().lower() in says_nothing_more
        else event.description,
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _event_words(language: str, status: str, status_detail: str) -> tuple[str, frozenset[str]]:
    """Our words for an event in `language` (the active one), and the carrier descriptions that
    would only repeat them. Cached: a long history repeats a few (status, detail) pairs."""
    detail = StatusDetail(status_detail)
    ours = str(detail.label) if detail != StatusDetail.UNKNOWN else str(Status(status).label)
    return ours, frozenset(("", ours.lower(), str(detail.label).lower()))


def page_for_order(order: Order, tracking_number: str | None = None) -> OrderPage:
    """The page for a prefetched order (orders.selectors), optionally one shipment only."""
    merchant_name = order.merchant.name
    shipments = [
        s
        for s in order.shipments.all()
        if not tracking_number or s.tracking_number == tracking_number
    ]
    line_items = list(order.line_items.all())
    return OrderPage(
        title=_("Order %(order)s") % {"order": order.order_id},
        order_id=order.order_id,
        order_date=order.order_date,
        destination=_place(order.city, order.state, order.country_code),
        shipments=problems_first([shipment_card(s, merchant_name) for s in shipments]),
        awaiting=[
            ItemLine(i.name, i.quantity_awaiting_shipment - i.quantity_backordered, i.image_url)
            for i in line_items
            if i.quantity_awaiting_shipment - i.quantity_backordered > 0
        ],
        backordered=[
            ItemLine(i.name, i.quantity_backordered, i.image_url, i.backorder_expected_date)
            for i in line_items
            if i.quantity_backordered
        ],
        cancelled=[
            ItemLine(i.name, i.quantity_cancelled, i.image_url)
            for i in line_items
            if i.quantity_cancelled
        ],
        returns=[return_card(r, merchant_name) for r in getattr(order, "returns_for_page", [])],
        can_return=any(option.available for option in order_return_options(order)),
    )


@dataclass(frozen=True, slots=True)
class ReturnCard:
    """A return request as its customer follows it: where it stands and what to do next."""

    public_id: str
    status: str
    headline: str  # "Return requested", "Return approved" …
    advice: str  # what happens next, in a sentence
    items: list[ItemLine]
    reason: str
    exchange_variant: str
    merchant_message: str
    instructions: str  # how to send it back, once approved
    label_url: str
    tracking_number: str
    tracking_url: str
    requested_at: datetime


def return_card(return_request: ReturnRequest, merchant_name: str) -> ReturnCard:
    status = return_request.status
    policy = getattr(return_request.order.merchant, "return_policy", None)
    waiting_for_parcel = status in (ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT)
    shipment = return_request.shipment
    headline, advice = _return_words(status, merchant_name)
    return ReturnCard(
        public_id=return_request.public_id,
        status=status,
        headline=headline,
        advice=advice,
        items=[
            ItemLine(i.line_item.name, i.quantity, i.line_item.image_url)
            for i in return_request.items.all()
        ],
        reason=return_request.reason_label,
        exchange_variant=return_request.exchange_variant,
        merchant_message=return_request.merchant_message,
        instructions=policy.shipping_instructions if policy and waiting_for_parcel else "",
        label_url=return_request.label_url if waiting_for_parcel else "",
        tracking_number=shipment.tracking_number if shipment else "",
        tracking_url=public_tracking_url(shipment.carrier, shipment.tracking_number)
        if shipment
        else "",
        requested_at=return_request.created_at,
    )


def _return_words(status: str, merchant: str) -> tuple[str, str]:
    words = {
        ReturnStatus.REQUESTED: (_("Return requested"),
                                 _("%(merchant)s will look at your request and reply by email.")),
        ReturnStatus.APPROVED: (_("Return approved"),
                                _("Send the items back to %(merchant)s as explained below.")),
        ReturnStatus.REFUSED: (_("Return refused"), _("%(merchant)s cannot take this return.")),
        ReturnStatus.IN_TRANSIT: (_("Return on its way back"),
                                  _("Your parcel is on its way back to %(merchant)s.")),
        ReturnStatus.RECEIVED: (_("Return received"),
                                _("%(merchant)s has received the items you sent back.")),
    }  # fmt: skip
    headline, advice = words[ReturnStatus(status)]
    return headline, advice % {"merchant": merchant}


def page_for_verification(order_id: str) -> OrderPage:
    """The page before the customer confirms who they are: the id from the link and nothing
    read from the order, which may not exist."""
    return OrderPage(
        title=_("Order %(order)s") % {"order": order_id},
        order_id=order_id,
        order_date=None,
        destination="",
        shipments=[],
    )


@dataclass(frozen=True, slots=True)
class MerchantContact:
    """How a customer reaches the merchant: the branding template's, else the merchant's."""

    email: str
    phone: str
    url: str

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.url)


def merchant_contact(template, merchant) -> MerchantContact:
    if not template.show_support:
        return MerchantContact("", "", "")
    return MerchantContact(
        email=template.support_email or merchant.support_email,
        phone=template.support_phone or merchant.support_phone,
        url=template.support_url or merchant.support_url,
    )


def problems_first(cards: list[ShipmentCard]) -> list[ShipmentCard]:
    """Packages in trouble first, then those on their way, then the delivered ones."""

    def rank(card: ShipmentCard) -> int:
        if card.status in OFF_COURSE_STATUSES:
            return 0
        return 2 if card.status == Status.DELIVERED else 1

    return sorted(cards, key=rank)


def page_for_lookup(order_id: str) -> OrderPage:
    """The lookup form's page: the number the customer typed or followed, nothing read."""
    return OrderPage(
        title=_("Find your order"), order_id=order_id, order_date=None, destination="", shipments=[]
    )


def page_for_trackers(title: str, trackers: list[Tracker], merchant_name: str) -> OrderPage:
    """A tracker page (one tracker) or a group page (several) — trackers without an order."""
    cards = problems_first(
        [shipment_card(t.shipment, merchant_name) for t in trackers if t.shipment_id]
    )
    first = trackers[0]
    return OrderPage(
        title=title,
        order_id=first.external_id,
        order_date=first.created_date,
        destination=_place(first.city, first.state, first.country_code),
        shipments=cards,
    )


def demo_page() -> OrderPage:
    """A believable split order for previewing a branding template with no orders yet."""
    now = timezone.now()
    in_transit = ShipmentCard(
        carrier=CarrierCode.UPS, carrier_name="UPS", carrier_logo=CARRIER_LOGOS["ups"],
        tracking_number="1Z5R89390357567127",
        tracking_url=public_tracking_url(CarrierCode.UPS, "1Z5R89390357567127"),
        status=Status.IN_TRANSIT, status_label=str(Status.IN_TRANSIT.label), progress=2,
        estimated_delivery=(now + timedelta(days=2)).date(), delivered_at=None, banner=None,
        items=[ItemLine(_("Blue mug"), 2)],
        timeline=[
            TimelineEntry(now - timedelta(hours=3), _("Departed facility"), "Dallas, TX, US",
                          "in_transit"),
            TimelineEntry(now - timedelta(hours=20), _("Picked up"), "Austin, TX, US",
                          "in_transit"),
        ],
        steps=_steps(Status.IN_TRANSIT, 2), event_count=2,
    )  # fmt: skip
    delivered = ShipmentCard(
        carrier=CarrierCode.USPS, carrier_name="USPS", carrier_logo=CARRIER_LOGOS["usps"],
        tracking_number="9400111899223197428490",
        tracking_url=public_tracking_url(CarrierCode.USPS, "9400111899223197428490"),
        status=Status.DELIVERED, status_label=str(Status.DELIVERED.label), progress=4,
        estimated_delivery=None, delivered_at=now - timedelta(days=1), banner=None,
        items=[ItemLine(_("Tea towel"), 1)],
        timeline=[TimelineEntry(now - timedelta(days=1), _("Delivered, front door"),
                                "Denver, CO, US", "delivered")],
        steps=_steps(Status.DELIVERED, 4), event_count=1,
    )  # fmt: skip
    return OrderPage(
        title=_("Order %(order)s") % {"order": "DEMO-1001"},
        order_id="DEMO-1001",
        order_date=now - timedelta(days=3),
        destination="Denver, CO, US",
        shipments=[in_transit, delivered],
        awaiting=[ItemLine(_("Cake stand"), 1)],
    )


@dataclass(frozen=True, slots=True)
class ReturnFormLine:
    """One line item in the return form: how many the customer may send back, or why none."""

    field: str  # the quantity's form field
    name: str
    image_url: str
    available: int
    chosen: int
    window_ends_at: datetime | None
    refusal: str  # why none may be returned, in words
    error: str = ""

    @property
    def image(self) -> str:
        return self.image_url if self.image_url.startswith("https://") else ""

    @property
    def choices(self) -> range:
        return range(self.available + 1)


@dataclass(frozen=True, slots=True)
class ReturnForm:
    lines: list[ReturnFormLine]
    reasons: list[tuple[str, str]]  # (code, label in the page's language)
    exchange_allowed: bool
    values: dict  # what the customer sent, shown again after an error
    error: str = ""
    field_errors: dict = field(default_factory=dict)

    @property
    def any_available(self) -> bool:
        return any(line.available for line in self.lines)


def return_form(options, policy, *, values: dict | None = None, error: str = "",
                field_errors: dict | None = None) -> ReturnForm:  # fmt: skip
    """The return form from the order's return options (orders.selectors.order_return_options),
    in the active language."""
    values = values or {}
    field_errors = field_errors or {}
    refusals = {
        "ITEM_NOT_RETURNABLE": _("This item cannot be returned."),
        "ITEM_NOT_DELIVERED": _("Not delivered yet."),
        "RETURN_WINDOW_CLOSED": _("The return window has closed."),
        "RETURN_QUANTITY_EXCEEDED": _("Already in a return request."),
    }
    language = get_language()
    lines = []
    for option in options:
        name = return_field_name(option.line_item)
        lines.append(ReturnFormLine(
            field=name, name=option.line_item.name, image_url=option.line_item.image_url,
            available=option.available, chosen=quantity_from_form(values.get(name)),
            window_ends_at=option.window_ends_at, refusal=refusals.get(option.refusal, ""),
            error=field_errors.get(name, ""),
        ))  # fmt: skip
    return ReturnForm(
        lines=lines,
        reasons=[(reason.code, reason.label_in(language)) for reason in policy.reasons.all()],
        exchange_allowed=policy.exchange_allowed,
        values=values,
        error=error,
        field_errors=field_errors,
    )


def return_field_name(line_item) -> str:
    return f"quantity-{line_item.pk}"


def quantity_from_form(value: str | None) -> int:
    """A quantity as a form sent it: anything but a whole number ≥ 0 is 0."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
