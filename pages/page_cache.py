"""Customers reload: an order page whose data has not changed since it was last rendered is
served from the cache (Redis in production, local memory in development) without being built
again.

The key names everything the HTML depends on: the link as opened (its query picks the language,
the template and the open package), the language, the version of the order's data and the
merchant's branding templates (orders.selectors.order_page_version), the merchant as last saved,
and the merchant's today (the page says "Arriving today", and a prediction whose range has passed is
no longer shown). Nothing has to remember to clear it: a change makes a new key, and the old entry
expires after PAGE_CACHE_SECONDS.

What differs per request is not cached: the CSP nonce and the CSRF token of the page's forms are
slots in the stored HTML, filled for each visitor.
"""

import hashlib
import re
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone

from merchants.models import Merchant

NONCE_SLOT = "page-nonce-slot"
CSRF_SLOT = "page-csrf-slot"
_CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def page_cache_key(request: HttpRequest, *, merchant: Merchant, language: str, version: str,
                   zone: zoneinfo.ZoneInfo) -> str:  # fmt: skip
    parts = (
        request.get_full_path(),
        language,
        version,
        merchant.updated_at,
        timezone.localdate(timezone=zone),
    )
    digest = hashlib.sha256("\n".join(str(part) for part in parts).encode()).hexdigest()
    return f"page:{digest}"


def page_html(key: str, render: Callable[[str], str]) -> tuple[str, bool]:
    """The stored HTML, with its slots, and whether it was there; else `render(nonce)` stored."""
    if settings.PAGE_CACHE_SECONDS:
        html = cache.get(key)
        if html is not None:
            return html, True
    html = _CSRF_VALUE.sub(rf"\g<1>{CSRF_SLOT}\g<2>", render(NONCE_SLOT))
    if settings.PAGE_CACHE_SECONDS:
        cache.set(key, html, settings.PAGE_CACHE_SECONDS)
    return html, False


def page_for_visitor(html: str, request: HttpRequest, nonce: str) -> str:
    return html.replace(NONCE_SLOT, nonce).replace(CSRF_SLOT, get_token(request))
