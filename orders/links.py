"""Customer links (API.md): the address of an order's tracking page, signed so that a merchant's
"verify the customer" setting lets our own links through."""

import enum
import functools
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.utils import timezone

from merchants.models import Merchant
from orders.models import Order

_signer = signing.Signer(salt="flextracker.tracking-page")


def tracking_page_token(merchant_id: str, order_id: str) -> str:
    """`<day issued>.<signature>`: the day lets a merchant's link lifetime end it
    (RELIABILITY.md "Customer pages"), and keeps one link per order and day."""
    return _token(merchant_id, order_id, signing.b62_encode(timezone.now().date().toordinal()))


@functools.lru_cache(maxsize=4096)  # an order's answer and its notifications both sign its link
def _token(merchant_id: str, order_id: str, issued: str) -> str:
    return f"{issued}.{_signature(merchant_id, order_id, issued)}"


def _signature(merchant_id: str, order_id: str, issued: str) -> str:
    return _signer.signature(f"{merchant_id}\n{order_id}\n{issued}")


def tracking_page_token_issued_on(merchant_id: str, order_id: str, token: str) -> date | None:
    """The day we signed this order's link, or None when the token is not our signature for it
    (another order's, a forged one, or one from before links had a lifetime)."""
    issued, _dot, signature = token.partition(".")
    expected = _signature(merchant_id, order_id, issued)
    if not issued or not signing.constant_time_compare(expected, signature):
        return None
    return date.fromordinal(signing.b62_decode(issued))


class LinkState(enum.Enum):
    CURRENT = "current"
    EXPIRED = "expired"  # ours, older than the merchant's tracking link lifetime
    UNSIGNED = "unsigned"  # no token, or not ours for this order


def tracking_page_link_state(merchant: Merchant, order_id: str, token: str) -> LinkState:
    """Whether a link opens the order's page without the customer confirming who they are. The
    lifetime is read now, so a merchant who shortens it also ends the links already sent."""
    issued_on = tracking_page_token_issued_on(merchant.merchant_id, order_id, token)
    if issued_on is None:
        return LinkState.UNSIGNED
    age = timezone.now().date() - issued_on
    if age > timedelta(days=merchant.tracking_link_lifetime_days):
        return LinkState.EXPIRED
    return LinkState.CURRENT


def tracking_page_url(order: Order) -> str:
    return _signed_order_url("orders", order)


def _signed_order_url(kind: str, order: Order) -> str:
    merchant_id = order.merchant.merchant_id
    query = urlencode({"t": tracking_page_token(merchant_id, order.order_id)})
    return (
        f"{settings.PUBLIC_BASE_URL}/{kind}/{quote(merchant_id)}/"
        f"{quote(order.order_id, safe='')}?{query}"
    )


def returns_page_url(order: Order) -> str:
    """The order's return flow for the customer (pages/, issue 25): `/returns/<merchantId>/
    <orderId>?t=…`, signed as the order's page is, so the same privacy rules let it open."""
    return _signed_order_url("returns", order)


def shipment_page_url(order: Order, tracking_number: str) -> str:
    """The order's page opened on one of its packages (what a message about it links to)."""
    return tracking_page_url(order) + "&" + urlencode({"trackingId": tracking_number})


def _page_url(kind: str, merchant_id: str, key: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/{kind}/{quote(merchant_id, safe='')}/{quote(key, safe='')}"


def tracker_page_url(merchant_id: str, external_id: str) -> str:
    return _page_url("trackers", merchant_id, external_id)


def group_page_url(merchant_id: str, group_id: str) -> str:
    return _page_url("groups", merchant_id, group_id)


def tracking_page_pdf_url(order: Order) -> str:
    """The same page as a PDF (the customer page's "Download PDF")."""
    page, query = tracking_page_url(order).split("?", 1)
    return f"{page}.pdf?{query}"
