"""The unsubscribe link of customer emails and SMS (RFC 8058 one-click included).

GET only asks: mail scanners and link previews follow links, and must not unsubscribe anyone.
POST (our button, or a mail provider's one-click POST, which carries no CSRF token) mutes the
order's messages. The signed token is the only credential; an invalid one is a plain 404.
"""

import secrets
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.messages import message_language
from notifications.unsubscribe import (
    order_notifications_mute,
    order_pk_from_token,
    tracker_notifications_mute,
    tracker_pk_from_token,
)
from orders.models import Order, Tracker


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    subject, reference, mute = _subject(token)
    if request.method == "POST":
        mute()
    language = message_language(subject.locale, subject.merchant.locale)
    nonce = secrets.token_urlsafe(16)
    with translation.override(language):
        html = render_to_string(
            "notifications/unsubscribe.html",
            {"order_id": reference, "merchant_name": subject.merchant.name, "nonce": nonce,
             "language": language, "muted": subject.notifications_muted_at is not None},
        )  # fmt: skip
    response = HttpResponse(html)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the address
    response["Content-Language"] = language
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    return response


def _subject(token: str) -> tuple[Order | Tracker, str, Callable[[], int]]:
    """What the token names — an order, or a tracker (its delivery contact's messages) — with
    the reference the customer knows it by and how to mute it; 404 for anything else."""
    order_pk = order_pk_from_token(token)
    order = (
        Order.objects.select_related("merchant").filter(pk=order_pk).first() if order_pk else None
    )
    if order is not None:
        return order, order.order_id, lambda: order_notifications_mute(order=order)
    tracker_pk = tracker_pk_from_token(token)
    tracker = (Tracker.objects.select_related("merchant").filter(pk=tracker_pk).first()
               if tracker_pk else None)  # fmt: skip
    if tracker is not None:
        return tracker, tracker.external_id, lambda: tracker_notifications_mute(tracker=tracker)
    raise Http404
