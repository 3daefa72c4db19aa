"""A customer texts our Twilio number: their order number (or STATUS, or anything else) gets the
order's status and its link, in the order's language. Twilio's inbound-message webhook
(`POST /hooks/twilio/sms`, set on the number in Twilio's console) posts a form signed with our
auth token (`X-Twilio-Signature`); we answer TwiML.

Only orders placed with the phone that texts are ever told, so a text naming someone else's order
is answered like one naming no order. Twilio answers STOP, START and HELP itself (Advanced Opt-Out):
those get no reply of ours.
"""

import base64
import hashlib
import hmac
import logging
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from flextracker import ratelimit
from flextracker.i18n import supported_language
from orders.links import tracking_page_url
from orders.models import Order
from orders.selectors import order_for_phone
from orders.services.orders import phone_digits

logger = logging.getLogger(__name__)

TWILIO_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "START", "YES",
                   "UNSTOP", "HELP", "INFO"}  # fmt: skip
LATEST_ORDER_WORDS = {"", "STATUS", "WHERE", "TRACK", "?"}
REPLIES_PER_MINUTE = 3  # per phone: a loop between two auto-responders stops here


def twilio_signature(auth_token: str, url: str, form: dict[str, list[str]]) -> str:
    """Twilio's scheme: HMAC-SHA1 over the URL Twilio called followed by every POST parameter,
    sorted by name, as name + value with no separator; base64."""
    signed = url + "".join(name + value for name in sorted(form) for value in form[name])
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@csrf_exempt
@require_POST
def sms_reply(request: HttpRequest) -> HttpResponse:
    token = settings.TWILIO_AUTH_TOKEN
    if not token:
        return HttpResponse("SMS replies are not set up.", status=404, content_type="text/plain")
    # The URL as Twilio called it: behind our proxy, the public address, not the one we see.
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    expected = twilio_signature(token, url, dict(request.POST.lists()))
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        logger.warning("An SMS webhook with a wrong signature was refused")
        return HttpResponse("Wrong signature.", status=403, content_type="text/plain")
    text = _reply(request.POST.get("From", ""), request.POST.get("Body", ""))
    return _twiml(text)


def _reply(sender: str, body: str) -> str:
    word = " ".join(body.split())
    if word.upper() in TWILIO_KEYWORDS:
        return ""
    digits = phone_digits(sender)
    if not ratelimit.take(f"sms-reply:{digits}", REPLIES_PER_MINUTE):
        return ""
    asked = "" if word.upper() in LATEST_ORDER_WORDS else word
    order = order_for_phone(digits, asked)
    if order is None:
        return _(
            "We could not find that order for this phone number. Reply with the order number "
            "from your confirmation, or STATUS for your latest order."
        )
    with translation.override(_language(order)):
        return _order_status(order)


def _language(order: Order) -> str:
    return supported_language(order.locale) or supported_language(order.merchant.locale) or "en"


def _order_status(order: Order) -> str:
    return _("%(merchant)s order %(order)s: %(status)s. Details: %(link)s") % {
        "merchant": order.merchant.name,
        "order": order.order_id,
        "status": order.get_status_display(),
        "link": tracking_page_url(order),
    }


def _twiml(text: str) -> HttpResponse:
    message = f"<Message>{escape(text)}</Message>" if text else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'
    return HttpResponse(xml, content_type="text/xml; charset=utf-8")
