"""Customer links (API.md): the address of an order's tracking page, signed so that a merchant's
"verify the customer" setting lets our own links through."""

import functools
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing

from orders.models import Order

_signer = signing.Signer(salt="flextracker.tracking-page")


@functools.lru_cache(maxsize=4096)  # an order's answer and its notifications both sign its link
def tracking_page_token(merchant_id: str, order_id: str) -> str:
    return _signer.signature(f"{merchant_id}\n{order_id}")


def tracking_page_token_is_valid(merchant_id: str, order_id: str, token: str) -> bool:
    return signing.constant_time_compare(tracking_page_token(merchant_id, order_id), token)


def tracking_page_url(order: Order) -> str:
    merchant_id = order.merchant.merchant_id
    query = urlencode({"t": tracking_page_token(merchant_id, order.order_id)})
    return (
        f"{settings.PUBLIC_BASE_URL}/orders/{quote(merchant_id)}/"
        f"{quote(order.order_id, safe='')}?{query}"
    )


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
