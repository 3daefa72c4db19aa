"""What customers read: the subject, plain text and HTML of an email and the text of an SMS, in
the order's language, from our default wording or the merchant's own template.

Rendering only: nothing is sent here. Merchant templates use `{placeholder}` names that a regex
replaces with plain values — never `str.format`, whose `{order.__class__}` reaches attributes —
and every value reaches the HTML through Django's auto-escaping.
"""

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from flextracker.i18n import supported_language
from merchants.branding import best_on, palette_for
from merchants.models import Merchant, NotificationTrigger
from merchants.selectors import branding_template_for
from notifications.models import MessageTemplate
from notifications.unsubscribe import unsubscribe_link_for

PLACEHOLDER = re.compile(r"\{(\w+)\}")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
PLACEHOLDERS = (
    "customer_name", "merchant", "order_id", "status", "carrier", "tracking_number",
    "estimated_delivery", "tracking_link", "items",
)  # fmt: skip
# An arrival estimate only helps while the package is still coming.
ETA_TRIGGERS = {"pre_transit", "in_transit", "out_for_delivery", "failed_attempt", "exception"}
SMS_MERCHANT_NAME_LIMIT = 30


@dataclass(frozen=True, slots=True)
class Wording:
    subject: str
    lead: str
    sms: str


# Whole sentences per trigger (translators need them whole: agreement differs by language).
WORDING = {
    "pre_transit": Wording(
        gettext_lazy("Your %(merchant)s order %(order_id)s is getting ready"),
        gettext_lazy("%(merchant)s is preparing your order %(order_id)s. We will let you know "
                     "as soon as it is on its way."),
        gettext_lazy("%(merchant)s: your order %(order_id)s is getting ready to ship. "
                     "Track it: %(link)s"),
    ),
    "in_transit": Wording(
        gettext_lazy("Your %(merchant)s order %(order_id)s is on its way"),
        gettext_lazy("Good news: your order %(order_id)s has shipped and is on its way with "
                     "%(carrier)s."),
        gettext_lazy("%(merchant)s: your order %(order_id)s is on its way. Track it: %(link)s"),
    ),
    "out_for_delivery": Wording(
        gettext_lazy("Your order %(order_id)s is out for delivery"),
        gettext_lazy("Your order %(order_id)s is out for delivery with %(carrier)s and should "
                     "arrive today."),
        gettext_lazy("%(merchant)s: your order %(order_id)s is out for delivery today. "
                     "Track it: %(link)s"),
    ),
    "available_for_pickup": Wording(
        gettext_lazy("Your order %(order_id)s is ready for pickup"),
        gettext_lazy("Your order %(order_id)s has arrived at the pickup point and is ready to "
                     "collect. The tracking page has the details."),
        gettext_lazy("%(merchant)s: your order %(order_id)s is ready for pickup. "
                     "Details: %(link)s"),
    ),
    "delivered": Wording(
        gettext_lazy("Your order %(order_id)s has been delivered"),
        gettext_lazy("Your order %(order_id)s from %(merchant)s has been delivered. We hope "
                     "you enjoy it!"),
        gettext_lazy("%(merchant)s: your order %(order_id)s has been delivered. "
                     "Details: %(link)s"),
    ),
    "failed_attempt": Wording(
        gettext_lazy("Delivery attempted for your order %(order_id)s"),
        gettext_lazy("%(carrier)s tried to deliver your order %(order_id)s but could not. The "
                     "tracking page shows what happens next."),
        gettext_lazy("%(merchant)s: delivery of your order %(order_id)s was attempted. "
                     "Next steps: %(link)s"),
    ),
    "exception": Wording(
        gettext_lazy("An update on the delivery of your order %(order_id)s"),
        gettext_lazy("The delivery of your order %(order_id)s has run into a problem. The "
                     "tracking page has the latest news from %(carrier)s."),
        gettext_lazy("%(merchant)s: there is a delivery problem with your order %(order_id)s. "
                     "Details: %(link)s"),
    ),
    "return_to_sender": Wording(
        gettext_lazy("Your order %(order_id)s is being returned"),
        gettext_lazy("Your order %(order_id)s could not be delivered and is on its way back "
                     "to %(merchant)s."),
        gettext_lazy("%(merchant)s: your order %(order_id)s could not be delivered and is "
                     "being returned. Details: %(link)s"),
    ),
    "cancelled": Wording(
        gettext_lazy("A shipment of your order %(order_id)s was cancelled"),
        gettext_lazy("A shipment of your order %(order_id)s was cancelled. The tracking page "
                     "shows the latest status of your order."),
        gettext_lazy("%(merchant)s: a shipment of your order %(order_id)s was cancelled. "
                     "Details: %(link)s"),
    ),
    "order_received": Wording(
        gettext_lazy("Thank you for your order %(order_id)s"),
        gettext_lazy("Thank you for your order! %(merchant)s has received order %(order_id)s "
                     "and will let you know when it ships."),
        gettext_lazy("%(merchant)s: thank you for your order %(order_id)s! "
                     "Follow it here: %(link)s"),
    ),
    "items_cancelled": Wording(
        gettext_lazy("Some items in your order %(order_id)s were cancelled"),
        gettext_lazy("Some items in your order %(order_id)s were cancelled. The tracking page "
                     "shows what is still on its way."),
        gettext_lazy("%(merchant)s: some items in your order %(order_id)s were cancelled. "
                     "Details: %(link)s"),
    ),
    "items_backordered": Wording(
        gettext_lazy("Some items in your order %(order_id)s are on backorder"),
        gettext_lazy("Some items in your order %(order_id)s are on backorder and will ship as "
                     "soon as they are back in stock. The tracking page shows the expected "
                     "dates."),
        gettext_lazy("%(merchant)s: some items in your order %(order_id)s are on backorder. "
                     "Details: %(link)s"),
    ),
    "return_requested": Wording(
        gettext_lazy("We have your return request for order %(order_id)s"),
        gettext_lazy("We have received your request to return items from order %(order_id)s. "
                     "%(merchant)s will look at it and let you know."),
        gettext_lazy("%(merchant)s: we have your return request for order %(order_id)s. "
                     "Follow it: %(link)s"),
    ),
    "return_approved": Wording(
        gettext_lazy("Your return for order %(order_id)s is approved"),
        gettext_lazy("%(merchant)s has approved your return for order %(order_id)s. You can "
                     "send the items back."),
        gettext_lazy("%(merchant)s: your return for order %(order_id)s is approved. "
                     "Next steps: %(link)s"),
    ),
    "return_refused": Wording(
        gettext_lazy("Your return for order %(order_id)s was not accepted"),
        gettext_lazy("%(merchant)s cannot accept your return for order %(order_id)s."),
        gettext_lazy("%(merchant)s: your return for order %(order_id)s was not accepted. "
                     "Details: %(link)s"),
    ),
    "return_label_ready": Wording(
        gettext_lazy("Your return for order %(order_id)s is ready to send"),
        gettext_lazy("Everything is ready for you to send back the items of order "
                     "%(order_id)s."),
        gettext_lazy("%(merchant)s: your return for order %(order_id)s is ready to send. "
                     "Details: %(link)s"),
    ),
    "return_received": Wording(
        gettext_lazy("%(merchant)s has received your return for order %(order_id)s"),
        gettext_lazy("%(merchant)s has received the items you sent back from order "
                     "%(order_id)s."),
        gettext_lazy("%(merchant)s: we have received your return for order %(order_id)s. "
                     "Details: %(link)s"),
    ),
}  # fmt: skip
RETURN_TRIGGERS = {"return_requested", "return_approved", "return_refused", "return_label_ready",
                   "return_received"}  # fmt: skip
# A package of a split order (more than one package, or items still to ship), named: "package 1
# of 2". The customer's first package must not read as the whole order (issue #24).
PACKAGE_WORDING = {
    "in_transit": Wording(
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s is on its way"),
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s has shipped and "
                     "is on its way with %(carrier)s."),
        gettext_lazy("%(merchant)s: package %(number)s of %(total)s of your order %(order_id)s "
                     "is on its way. Track it: %(link)s"),
    ),
    "out_for_delivery": Wording(
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s is out for "
                     "delivery"),
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s is out for "
                     "delivery with %(carrier)s and should arrive today."),
        gettext_lazy("%(merchant)s: package %(number)s of %(total)s of your order %(order_id)s "
                     "is out for delivery today. Track it: %(link)s"),
    ),
    "available_for_pickup": Wording(
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s is ready for "
                     "pickup"),
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s has arrived at "
                     "the pickup point and is ready to collect. The tracking page has the "
                     "details."),
        gettext_lazy("%(merchant)s: package %(number)s of %(total)s of your order %(order_id)s "
                     "is ready for pickup. Details: %(link)s"),
    ),
    "delivered": Wording(
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s has been "
                     "delivered"),
        gettext_lazy("Package %(number)s of %(total)s of your order %(order_id)s from "
                     "%(merchant)s has been delivered."),
        gettext_lazy("%(merchant)s: package %(number)s of %(total)s of your order %(order_id)s "
                     "has been delivered, the rest is still to come. Details: %(link)s"),
    ),
    "failed_attempt": Wording(
        gettext_lazy("Delivery attempted for package %(number)s of %(total)s of your order "
                     "%(order_id)s"),
        gettext_lazy("%(carrier)s tried to deliver package %(number)s of %(total)s of your order "
                     "%(order_id)s but could not. The tracking page shows what happens next."),
        gettext_lazy("%(merchant)s: delivery of package %(number)s of %(total)s of your order "
                     "%(order_id)s was attempted. Next steps: %(link)s"),
    ),
    "exception": Wording(
        gettext_lazy("An update on the delivery of package %(number)s of %(total)s of your "
                     "order %(order_id)s"),
        gettext_lazy("The delivery of package %(number)s of %(total)s of your order "
                     "%(order_id)s has run into a problem. The tracking page has the latest news "
                     "from %(carrier)s."),
        gettext_lazy("%(merchant)s: there is a delivery problem with package %(number)s of "
                     "%(total)s of your order %(order_id)s. Details: %(link)s"),
    ),
}  # fmt: skip
# Several packages of a split order told in one message (merged while it waited to be sent).
PACKAGES_WORDING = {
    "in_transit": Wording(
        ngettext_lazy("%(count)s package of your order %(order_id)s is on its way",
                      "%(count)s packages of your order %(order_id)s are on their way", "count"),
        ngettext_lazy("%(count)s package of your order %(order_id)s has shipped and is on its "
                      "way.",
                      "%(count)s packages of your order %(order_id)s have shipped and are on "
                      "their way.", "count"),
        ngettext_lazy("%(merchant)s: %(count)s package of your order %(order_id)s is on its "
                      "way. Track it: %(link)s",
                      "%(merchant)s: %(count)s packages of your order %(order_id)s are on their "
                      "way. Track them: %(link)s", "count"),
    ),
    "out_for_delivery": Wording(
        ngettext_lazy("%(count)s package of your order %(order_id)s is out for delivery",
                      "%(count)s packages of your order %(order_id)s are out for delivery",
                      "count"),
        ngettext_lazy("%(count)s package of your order %(order_id)s is out for delivery and "
                      "should arrive today.",
                      "%(count)s packages of your order %(order_id)s are out for delivery and "
                      "should arrive today.", "count"),
        ngettext_lazy("%(merchant)s: %(count)s package of your order %(order_id)s is out for "
                      "delivery today. Track it: %(link)s",
                      "%(merchant)s: %(count)s packages of your order %(order_id)s are out for "
                      "delivery today. Track them: %(link)s", "count"),
    ),
    "available_for_pickup": Wording(
        ngettext_lazy("%(count)s package of your order %(order_id)s is ready for pickup",
                      "%(count)s packages of your order %(order_id)s are ready for pickup",
                      "count"),
        ngettext_lazy("%(count)s package of your order %(order_id)s has arrived at the pickup "
                      "point and is ready to collect. The tracking page has the details.",
                      "%(count)s packages of your order %(order_id)s have arrived at the pickup "
                      "point and are ready to collect. The tracking page has the details.",
                      "count"),
        ngettext_lazy("%(merchant)s: %(count)s package of your order %(order_id)s is ready for "
                      "pickup. Details: %(link)s",
                      "%(merchant)s: %(count)s packages of your order %(order_id)s are ready "
                      "for pickup. Details: %(link)s", "count"),
    ),
    "delivered": Wording(
        ngettext_lazy("%(count)s package of your order %(order_id)s has been delivered",
                      "%(count)s packages of your order %(order_id)s have been delivered",
                      "count"),
        ngettext_lazy("%(count)s package of your order %(order_id)s from %(merchant)s has been "
                      "delivered.",
                      "%(count)s packages of your order %(order_id)s from %(merchant)s have "
                      "been delivered.", "count"),
        ngettext_lazy("%(merchant)s: %(count)s package of your order %(order_id)s has been "
                      "delivered, the rest is still to come. Details: %(link)s",
                      "%(merchant)s: %(count)s packages of your order %(order_id)s have been "
                      "delivered, the rest is still to come. Details: %(link)s", "count"),
    ),
    "failed_attempt": Wording(
        ngettext_lazy("Delivery attempted for %(count)s package of your order %(order_id)s",
                      "Delivery attempted for %(count)s packages of your order %(order_id)s",
                      "count"),
        ngettext_lazy("The carrier tried to deliver %(count)s package of your order "
                      "%(order_id)s but could not. The tracking page shows what happens next.",
                      "The carrier tried to deliver %(count)s packages of your order "
                      "%(order_id)s but could not. The tracking page shows what happens next.",
                      "count"),
        ngettext_lazy("%(merchant)s: delivery of %(count)s package of your order %(order_id)s "
                      "was attempted. Next steps: %(link)s",
                      "%(merchant)s: delivery of %(count)s packages of your order %(order_id)s "
                      "was attempted. Next steps: %(link)s", "count"),
    ),
    "exception": Wording(
        ngettext_lazy("An update on the delivery of %(count)s package of your order "
                      "%(order_id)s",
                      "An update on the delivery of %(count)s packages of your order "
                      "%(order_id)s", "count"),
        ngettext_lazy("The delivery of %(count)s package of your order %(order_id)s has run "
                      "into a problem. The tracking page has the latest news.",
                      "The delivery of %(count)s packages of your order %(order_id)s has run "
                      "into a problem. The tracking page has the latest news.", "count"),
        ngettext_lazy("%(merchant)s: there is a delivery problem with %(count)s package of "
                      "your order %(order_id)s. Details: %(link)s",
                      "%(merchant)s: there is a delivery problem with %(count)s packages of "
                      "your order %(order_id)s. Details: %(link)s", "count"),
    ),
}  # fmt: skip
# The order's only package so far delivered while items are still to ship: not "enjoy it" yet.
ONLY_PACKAGE_DELIVERED = gettext_lazy(
    "The package of your order %(order_id)s from %(merchant)s has been delivered."
)
OTHER_PACKAGE_ON_ITS_WAY = gettext_lazy(
    "The other package is still on its way; the tracking page shows where it is."
)
PACKAGES_ON_THEIR_WAY = ngettext_lazy(
    "%(count)s more package is still on its way; the tracking page shows where it is.",
    "%(count)s more packages are still on their way; the tracking page shows where they are.",
    "count",
)
ITEMS_TO_SHIP = gettext_lazy("Some items have not shipped yet; we will let you know when they do.")
FALLBACK = Wording(
    gettext_lazy("An update on your order %(order_id)s"),
    gettext_lazy("There is news about your order %(order_id)s: %(status)s."),
    gettext_lazy("%(merchant)s: there is news about your order %(order_id)s. Track it: %(link)s"),
)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """Everything a message shows, frozen in the notification's payload when it was queued."""

    merchant: Merchant
    trigger: str
    language: str
    customer_name: str = ""
    order_id: str = ""
    tracking: dict = field(default_factory=dict)
    tracking_link: str = ""
    unsubscribe_link: str = ""
    # A split order's packages this message is about (services._name_packages), else empty.
    package: dict = field(default_factory=dict)
    # A return step's request, as orders.representation.return_json shows it, else empty.
    return_request: dict = field(default_factory=dict)


def message_language(order_locale: str, merchant_locale: str) -> str:
    """The order's language ("es-MX" → "es"), else the merchant's, else English."""
    for locale in (order_locale, merchant_locale):
        language = supported_language(locale)
        if language:
            return language
    return "en"


def context_for(notification) -> MessageContext:
    order, merchant, payload = notification.order, notification.merchant, notification.payload
    tracking = payload.get("tracking") or {}
    # A tracker's customer (no order): the tracker's contact, language and reference.
    tracker = payload.get("tracker") or {}
    locale = order.locale if order else tracker.get("locale", "")
    reference = tracking.get("orderId") or tracker.get("externalId") or ""
    return_request = payload.get("data") or {} if notification.trigger in RETURN_TRIGGERS else {}
    if return_request:
        tracking = {"items": return_request.get("items") or []}
    return MessageContext(
        merchant=merchant,
        trigger=notification.trigger,
        language=message_language(locale, merchant.locale),
        customer_name=order.customer_name if order else tracker.get("name", ""),
        order_id=order.order_id if order else str(reference),
        tracking=tracking,
        tracking_link=payload.get("trackingPage") or "",
        unsubscribe_link=unsubscribe_link_for(notification),
        package=payload.get("package") or {},
        return_request=return_request,
    )


def merchant_template(merchant: Merchant, channel: str, trigger: str) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(
        merchant=merchant, channel=channel, trigger=trigger
    ).first()


def render_email(notification) -> tuple[str, str, str]:
    context = context_for(notification)
    return render_email_for(context, merchant_template(context.merchant, "email", context.trigger))


def render_sms(notification) -> str:
    context = context_for(notification)
    return render_sms_for(context, merchant_template(context.merchant, "sms", context.trigger))


def fill(text: str, values: dict[str, str]) -> str:
    """Replaces `{name}` by its value; an unknown name stays as written."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def one_line(text: str) -> str:
    """Whitespace (CR and LF included) collapsed and control characters dropped: safe in a
    header or an SMS."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace())
    return " ".join(kept.split())


def render_email_for(
    context: MessageContext, template: MessageTemplate | None
) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the context's language."""
    with translation.override(context.language):
        values = placeholder_values(context)
        wording = default_wording(context, values)
        subject = one_line(fill(template.subject, values) if template and template.subject
                           else wording.subject)  # fmt: skip
        if template:
            body = fill(template.body.replace("\r\n", "\n"), values)  # browsers post CRLF
            paragraphs = [p.strip() for p in PARAGRAPH_BREAK.split(body) if p.strip()]
        else:
            paragraphs = _default_paragraphs(context, wording.lead) + _return_paragraphs(context)
        parts = _email_parts(context, values, subject, paragraphs)
        text = _plain_text(parts)
        html = render_to_string("notifications/email.html", {**parts, **_branding(context)})
    return subject[:200], text, html


def render_sms_for(context: MessageContext, template: MessageTemplate | None) -> str:
    with translation.override(context.language):
        values = placeholder_values(context)
        values["merchant"] = values["merchant"][:SMS_MERCHANT_NAME_LIMIT]
        if template:
            body = fill(template.body, values)
            if values["tracking_link"] not in body:  # every text leads to the tracking page
                body = f"{body} {values['tracking_link']}"
        else:
            body = default_wording(context, values).sms
    return gsm_friendly(one_line(body))


def placeholder_values(context: MessageContext) -> dict[str, str]:
    tracking = context.tracking
    status = dict(NotificationTrigger.choices).get(context.trigger, context.trigger)
    return {
        "customer_name": context.customer_name,
        "merchant": context.merchant.name,
        "order_id": context.order_id,
        "status": str(status),
        "carrier": str(tracking.get("carrierName") or ""),
        "tracking_number": str(tracking.get("trackingNumber") or ""),
        "estimated_delivery": _estimated_delivery(context),
        "tracking_link": context.tracking_link,
        "items": ", ".join(item_lines(tracking)),
    }


def _default_values(values: dict[str, str]) -> dict[str, str]:
    # A shipment without a carrier name still reads as a sentence.
    return {**values, "carrier": values["carrier"] or _("the carrier")}


def default_wording(context: MessageContext, values: dict[str, str]) -> Wording:
    """Our subject, lead and SMS for the message, filled in. A split order's package is named
    (or the packages counted), with what remains after the lead; the order's last package
    delivered, with nothing left to come, reads as the whole order delivered."""
    shown = {**_default_values(values), "link": values["tracking_link"]}
    package = context.package
    wording = WORDING.get(context.trigger, FALLBACK)
    delivered = context.trigger == "delivered"
    if not package or (delivered and not package["remaining"] and not package["itemsToShip"]):
        return Wording(wording.subject % shown, wording.lead % shown, wording.sms % shown)
    numbers = package["numbers"]
    if package["of"] > 1 and context.trigger in PACKAGE_WORDING:
        wording = (
            PACKAGE_WORDING[context.trigger]
            if len(numbers) == 1
            else (PACKAGES_WORDING[context.trigger])
        )
        shown.update(number=numbers[0], total=package["of"], count=len(numbers))
    lead = ONLY_PACKAGE_DELIVERED if delivered and package["of"] == 1 else wording.lead
    return Wording(wording.subject % shown,
                   " ".join([lead % shown, *_what_remains(package, delivered)]),
                   wording.sms % shown)  # fmt: skip


def _what_remains(package: dict, delivered: bool) -> list[str]:
    sentences = []
    remaining = package["remaining"]
    if delivered and remaining:
        only_other = remaining == 1 and package["of"] - len(package["numbers"]) == 1
        sentences.append(str(OTHER_PACKAGE_ON_ITS_WAY) if only_other
                         else PACKAGES_ON_THEIR_WAY % {"count": remaining})  # fmt: skip
    if package["itemsToShip"]:
        sentences.append(str(ITEMS_TO_SHIP))
    return sentences


def _default_paragraphs(context: MessageContext, lead: str) -> list[str]:
    name = one_line(context.customer_name)
    greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
    return [greeting, lead[:1].upper() + lead[1:]]  # a carrier name may open the sentence


def _return_paragraphs(context: MessageContext) -> list[str]:
    """What a return step's email says besides its lead: the merchant's message, how to send
    the items back, the label and the return's tracking number."""
    data = context.return_request
    if not data:
        return []
    paragraphs = []
    merchant = context.merchant.name
    if data.get("exchangeVariant") and context.trigger == "return_requested":
        paragraphs.append(_("You asked to exchange them for: %(variant)s")
                          % {"variant": one_line(data["exchangeVariant"])})  # fmt: skip
    if data.get("merchantMessage"):
        paragraphs.append(_("%(merchant)s says: %(message)s")
                          % {"merchant": merchant, "message": data["merchantMessage"]})  # fmt: skip
    if context.trigger in ("return_approved", "return_label_ready"):
        policy = getattr(context.merchant, "return_policy", None)
        if policy is not None and policy.shipping_instructions:
            paragraphs.append(policy.shipping_instructions)
        if data.get("labelUrl"):
            paragraphs.append(_("Print your return label: %(link)s") % {"link": data["labelUrl"]})
        shipment = data.get("returnShipment") or {}
        if shipment.get("trackingNumber"):
            paragraphs.append(_("Return tracking number: %(number)s")
                              % {"number": shipment["trackingNumber"]})  # fmt: skip
    return paragraphs


def item_lines(tracking: dict) -> list[str]:
    return [
        f"{item.get('quantity') or 1} × {one_line(str(item.get('name') or item.get('itemId')))}"
        for item in tracking.get("items") or []
        if item.get("name") or item.get("itemId")
    ]


def _estimated_delivery(context: MessageContext) -> str:
    """The carrier's estimate, else our predicted range (labelled as ours), else nothing."""
    value = str(context.tracking.get("estimatedDelivery") or "")
    predicted = context.tracking.get("predictedDelivery") or {}
    try:
        day = date.fromisoformat(value) if len(value) == 10 else _local_day(value, context)
        if not day and predicted:
            return _("%(earliest)s to %(latest)s (our estimate)") % {
                "earliest": formats.date_format(date.fromisoformat(predicted["earliest"]),
                                                "DATE_FORMAT"),
                "latest": formats.date_format(date.fromisoformat(predicted["latest"]),
                                              "DATE_FORMAT"),
            }  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return ""
    return formats.date_format(day, "DATE_FORMAT") if day else ""


def _local_day(value: str, context: MessageContext) -> date | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(zoneinfo.ZoneInfo(context.merchant.time_zone)).date()


def _email_parts(context: MessageContext, values: dict, subject: str, paragraphs: list) -> dict:
    eta = values["estimated_delivery"] if context.trigger in ETA_TRIGGERS else ""
    number = values["tracking_number"]
    return {
        "language": context.language,
        "subject": subject,
        "paragraphs": paragraphs,
        "merchant_name": context.merchant.name,
        "eta": _("Estimated arrival: %(date)s") % {"date": eta} if eta else "",
        "items_title": _("In this return") if context.return_request else _("In this package"),
        "items": item_lines(context.tracking),
        "tracking_number_line": (
            _("%(carrier)s tracking number: %(number)s")
            % {"carrier": values["carrier"], "number": number}
            if number and values["carrier"] else ""
        ),
        "tracking_link": context.tracking_link,
        "button_label": _("Track your order"),
        "footer_reason": _("You are receiving this email about order %(order_id)s from "
                           "%(merchant)s.") % values,
        "unsubscribe_link": context.unsubscribe_link,
        "unsubscribe_label": _("Stop messages about this order"),
    }  # fmt: skip


def _plain_text(parts: dict) -> str:
    """The HTML's content in the same order, for clients that show (or filters that read) text."""
    blocks = [*parts["paragraphs"], *([parts["eta"]] if parts["eta"] else [])]
    if parts["items"]:
        blocks.append("\n".join([parts["items_title"], *(f"- {line}" for line in parts["items"])]))
    if parts["tracking_number_line"]:
        blocks.append(parts["tracking_number_line"])
    if parts["tracking_link"]:
        blocks.append(f"{parts['button_label']}\n{parts['tracking_link']}")
    footer = [parts["footer_reason"]]
    if parts["unsubscribe_link"]:
        footer += [parts["unsubscribe_label"], parts["unsubscribe_link"]]
    blocks.append("-- \n" + "\n".join(footer))
    return "\n\n".join(blocks) + "\n"


def _branding(context: MessageContext) -> dict:
    brand = branding_template_for(context.merchant, None)
    palette = palette_for(brand.primary_color, brand.accent_color, brand.background_color,
                          brand.text_color)  # fmt: skip
    if brand.pk and brand.logo_png:
        logo_url = settings.PUBLIC_BASE_URL + reverse("branding_logo", args=[brand.pk])
    else:
        logo_url = brand.logo_url if brand.logo_url.startswith("https://") else ""
    return {
        "palette": palette,
        "button_text": best_on(palette.link),
        "font": brand.font_stack,
        "logo_url": logo_url,
        "logo_alt": brand.logo_alt_text or context.merchant.name,
    }


GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€")


def gsm_friendly(text: str) -> str:
    """Accents outside the GSM 03.38 alphabet (á, í, ó, ú, ê, ç…) lose their mark, so a short
    message stays one 160-character part instead of a 70-character Unicode one. Text that needs
    Unicode anyway (emoji, other scripts) is left as it is."""
    gsm = GSM_BASIC | GSM_EXTENSION
    plain = "".join(ch if ch in gsm else unicodedata.normalize("NFKD", ch)[0] for ch in text)
    return plain if all(ch in gsm for ch in plain) else text


def gsm_length(text: str) -> int:
    """Septets: extension characters take two."""
    return sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
