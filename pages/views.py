"""Server-rendered customer pages (API.md "Customer links"): an order, its PDF twin, a tracker,
a group. Private by design: no email, phone, street or full name; 404s that give nothing away;
a per-visitor rate limit; and, when the merchant asks, the customer proves who they are."""

import hashlib
import secrets
import zoneinfo
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_http_methods

from flextracker import ratelimit
from flextracker.i18n import supported_language
from flextracker.replica import merchant_client, replica_reads
from merchants.branding import palette_for
from merchants.models import BrandingTemplate, Merchant
from merchants.selectors import (
    branding_template_for,
    merchant_get_by_public_id,
    merchants_visible_to,
    return_policy_for,
)
from orders.links import LinkState, tracking_page_link_state, tracking_page_token
from orders.models import Order
from orders.selectors import (
    PageVersion,
    order_for_page,
    order_for_verification,
    order_latest_for_page,
    order_page_version,
    order_return_options,
    tracker_for_page,
    trackers_in_group,
)
from orders.services.returns import ReturnItemInput, ReturnNotAllowed, return_request_create
from pages.page_cache import page_cache_key, page_for_visitor, page_html
from pages.pdf import render_pdf
from pages.tracking_page import (
    HISTORY_SHOWN,
    demo_page,
    merchant_contact,
    page_for_lookup,
    page_for_order,
    page_for_trackers,
    page_for_verification,
    quantity_from_form,
    return_field_name,
    return_form,
)
from tracking.polling import shipment_check_for_customer


def page_language(request: HttpRequest, locale: str = "") -> str:
    """`lang` in the link, else the order's locale, else the browser's Accept-Language."""
    for candidate in (request.GET.get("lang", ""), locale):
        language = supported_language(candidate)
        if language:
            return language
    return translation.get_language_from_request(request)


def _page_readers(request: HttpRequest, merchant_id: str, *args, **kwargs) -> list[str]:
    """Whose writes a customer page must show at once: its merchant's (flextracker/replica.py)."""
    return [merchant_client(merchant_id)]


def _visitor(request: HttpRequest) -> str:
    # REMOTE_ADDR is the proxy's address behind a load balancer; gunicorn's forwarded_allow_ips
    # and a proxy that overwrites it keep this the visitor's own.
    return request.META.get("REMOTE_ADDR", "")


def _too_many(request: HttpRequest, *, miss: bool = False) -> bool:
    visitor = _visitor(request)
    if miss:
        return not ratelimit.take(f"page-miss:{visitor}", settings.PAGE_MISSES_PER_MINUTE)
    return not ratelimit.take(f"page:{visitor}", settings.PAGE_VIEWS_PER_MINUTE)


def _rate_limited() -> HttpResponse:
    response = HttpResponse("Too many requests; try again in a minute.", status=429,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    response["Retry-After"] = str(int(ratelimit.seconds_to_next_window()) + 1)
    return response


def _not_found(request: HttpRequest, *, counted: bool = False, merchant: Merchant | None = None,
               order_id: str = "") -> HttpResponse:  # fmt: skip
    """An unknown order of a known merchant: the merchant's branded page with the lookup form,
    the same for an order that does not exist and another merchant's; an unknown merchant: our
    plain 404 page. Misses are counted (once: `counted` when the lookup was already taken from
    the guesses' budget)."""
    if not counted and _too_many(request, miss=True):
        return _rate_limited()
    if merchant is None:
        raise Http404
    return _lookup_page(request, merchant, order_id.removesuffix(".pdf"), status=404)


def _lookup_page(request: HttpRequest, merchant: Merchant, order_id: str, *, status: int = 200,
                 failed: bool = False) -> HttpResponse:  # fmt: skip
    """The form that finds an order by its number and the customer's email or postal code:
    the merchant's "Track your order" page, and what an unknown order's link shows."""
    template = branding_template_for(merchant, request.GET.get("templateName"))
    language = page_language(request, merchant.locale)
    with translation.override(language):
        page = page_for_lookup(order_id)
    context = {"page": page, "verified": False, "verify_failed": failed, "lookup": True,
               "not_found": status == 404, "lookup_action": reverse(
                   "order_lookup", args=[merchant.merchant_id])}  # fmt: skip
    response = _render(request, context, merchant=merchant, language=language, template=template)
    response.status_code = 403 if failed else status
    return response


@require_http_methods(["GET", "POST"])
@replica_reads(_page_readers)
def order_lookup(request: HttpRequest, merchant_id: str) -> HttpResponse:
    """`/orders/<merchant>/`: a customer finds their order without the link (order number and
    email or postal code), and lands on the order's signed page."""
    if _too_many(request):
        return _rate_limited()
    merchant = merchant_get_by_public_id(merchant_id)
    if merchant is None:
        return _not_found(request)
    if request.method == "GET":
        return _lookup_page(request, merchant, request.GET.get("order", "")[:100])
    return _verify(request, merchant, request.POST.get("order", "").strip()[:100], lookup=True)


def _render(request: HttpRequest, context: dict, *, merchant: Merchant, language: str,
            template: BrandingTemplate, pdf: bool = False) -> HttpResponse | bytes:  # fmt: skip
    nonce = secrets.token_urlsafe(16)
    html = _page_html(request, context, merchant=merchant, language=language, template=template,
                      nonce=nonce, pdf=pdf)  # fmt: skip
    return html if pdf else _page_response(html, language, nonce)


def _page_html(request: HttpRequest, context: dict, *, merchant: Merchant, language: str,
               template: BrandingTemplate, nonce: str, pdf: bool = False) -> str:  # fmt: skip
    palette = palette_for(template.primary_color, template.accent_color,
                          template.background_color, template.text_color)  # fmt: skip
    with translation.override(language), timezone.override(_zone(merchant)):
        return render_to_string(
            "pages/tracking_page.html",
            {"brand": template, "merchant": merchant, "palette": palette, "nonce": nonce,
             "pdf": pdf, "language": language,
             "contact": merchant_contact(template, merchant), **context},
            request=None if pdf else request,
        )  # fmt: skip


def _page_response(html: str, language: str, nonce: str) -> HttpResponse:
    response = HttpResponse(html)
    response["Cache-Control"] = "private, max-age=60"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # not no-referrer: with it browsers send `Origin: null` on the gate's own form post, which
    # Django's CSRF check refuses (RELIABILITY.md "Customer pages")
    response["Referrer-Policy"] = "same-origin"
    response["Content-Language"] = language
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'self' 'nonce-{nonce}'; img-src 'self' https: data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return response


def _zone(merchant: Merchant) -> zoneinfo.ZoneInfo:
    # The destination's zone is not known; the merchant's stands in (tracking/delays.py too).
    return zoneinfo.ZoneInfo(merchant.time_zone)


@require_http_methods(["GET", "POST"])
@replica_reads(_page_readers)
def order_page(request: HttpRequest, merchant_id: str, order_id: str) -> HttpResponse:
    admitted = _admitted(request, merchant_id, order_id)
    if isinstance(admitted, HttpResponse):
        return admitted
    merchant, signed_id = admitted
    if request.method == "GET":
        found, as_pdf = _order_in_path(merchant, signed_id, order_id, order_page_version)
        if found is None:
            return _not_found(request, counted=signed_id is None, merchant=merchant,
                              order_id=order_id)  # fmt: skip
        if not as_pdf:
            return _order_page_cached(request, merchant, found)
    order, as_pdf = _order_in_path(merchant, signed_id, order_id, order_for_page)
    if order is None:
        return _not_found(request, counted=signed_id is None, merchant=merchant, order_id=order_id)
    if request.method == "POST":
        if "check_updates" in request.POST:
            return _check_for_updates(request, merchant, order)
        return _redirect_signed(request, merchant, order)
    template = branding_template_for(merchant, request.GET.get("templateName"))
    language = page_language(request, order.locale)
    with translation.override(language):
        page = page_for_order(order, tracking_number=request.GET.get("trackingId"))
    context = {"page": page, "verified": True, "verify_failed": False}
    return _pdf_response(request, context, merchant, language, template, order)


def _admitted(
    request: HttpRequest, merchant_id: str, order_id: str
) -> tuple[Merchant, str | None] | HttpResponse:
    """An order's pages' rules, before anything about the order is read: the visitor's rate
    limit, the merchant, then our signature in the link or the gate (a POST to it is the
    customer's answer). The merchant and the order id the link signs (None: unsigned), or the
    answer that stops here."""
    if _too_many(request):
        return _rate_limited()
    merchant = merchant_get_by_public_id(merchant_id)
    if merchant is None:
        return _not_found(request)
    signed_id, link = _signed_order_id(merchant, order_id, request.GET.get("t", ""))
    if signed_id is None and merchant.verify_customer:
        if request.method == "POST":
            return _verify(request, merchant, order_id)
        return _gate(request, merchant, order_id, expired=link is LinkState.EXPIRED)
    # Without the gate an order id is public by the merchant's choice; what we can still do is
    # hold a visitor's unsigned lookups, found or not, to the guesses' budget, so that walking
    # sequential order ids is as slow as guessing them.
    if signed_id is None and _too_many(request, miss=True):
        return _rate_limited()
    return merchant, signed_id


def _order_page_cached(
    request: HttpRequest, merchant: Merchant, found: PageVersion
) -> HttpResponse:
    """The order's page from the cache when nothing it shows has changed (pages/page_cache.py),
    else built, stored and served."""
    language = page_language(request, found.locale)
    key = page_cache_key(request, merchant=merchant, language=language, version=found.version,
                         zone=_zone(merchant))  # fmt: skip

    def render(nonce: str) -> str:
        template = branding_template_for(merchant, request.GET.get("templateName"))
        # The whole order shows each package's newest events, and "Show all" opens one package
        # with all of its own: a 10-package order is not a page of 400 rows.
        open_package = request.GET.get("trackingId")
        newest = None if open_package else HISTORY_SHOWN
        order = order_for_page(merchant, found.order_id, newest_events=newest)
        if order is None:  # gone since its version was read
            return ""
        with translation.override(language):
            page = page_for_order(order, tracking_number=open_package)
        returns_url = _signed_path(request, "returns_page", merchant, order)
        query = _query_without(request, "trackingId")
        context = {"page": page, "verified": True, "verify_failed": False,
                   "returns_url": returns_url, "open_package": open_package,
                   "show_all_query": query, "whole_order_url": f"?{query.rstrip('&')}"}  # fmt: skip
        return _page_html(request, context, merchant=merchant, language=language,
                          template=template, nonce=nonce)  # fmt: skip

    html, cached = page_html(key, render)
    if not html:
        return _not_found(request, counted=True, merchant=merchant, order_id=found.order_id)
    nonce = secrets.token_urlsafe(16)
    response = _page_response(page_for_visitor(html, request, nonce), language, nonce)
    response["X-Page-Cache"] = "hit" if cached else "miss"
    return response


def _query_without(request: HttpRequest, name: str) -> str:
    """The link's query without `name`, ready for another parameter ("t=…&lang=es&")."""
    query = request.GET.copy()
    query.pop(name, None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


Found = TypeVar("Found")


def _ids_in_path(order_id: str) -> list[str]:
    """`<orderId>` or `<orderId>.pdf` (its PDF); an order whose id ends in .pdf comes first."""
    return [order_id, order_id.removesuffix(".pdf")] if order_id.endswith(".pdf") else [order_id]


def _signed_order_id(merchant: Merchant, order_id: str, token: str) -> tuple[str | None, LinkState]:
    """The order our current signature in the link names, else None and why (expired, unsigned).
    No database read: a link is checked before anything about the order is known."""
    states = {i: tracking_page_link_state(merchant, i, token) for i in _ids_in_path(order_id)}
    signed = next((i for i, state in states.items() if state is LinkState.CURRENT), None)
    if signed is not None:
        return signed, LinkState.CURRENT
    return None, LinkState.EXPIRED if LinkState.EXPIRED in states.values() else LinkState.UNSIGNED


def _order_in_path(
    merchant: Merchant,
    signed_id: str | None,
    order_id: str,
    find: Callable[[Merchant, str], Found | None],
) -> tuple[Found | None, bool]:
    """The order (as `find` reads it: the page's, or its version) and whether its PDF is asked
    for."""
    if signed_id is not None:
        return find(merchant, signed_id), signed_id != order_id
    for candidate in _ids_in_path(order_id):
        found = find(merchant, candidate)
        if found is not None:
            return found, candidate != order_id
    return None, False


def _gate(request: HttpRequest, merchant: Merchant, order_id: str, *, expired: bool = False,
          failed: bool = False) -> HttpResponse:  # fmt: skip
    """What a link without our current signature gets when the merchant verifies customers: the
    same form whether the order exists or not, built without reading it, so that a guessed order
    id tells nothing (status, body or time)."""
    template = branding_template_for(merchant, request.GET.get("templateName"))
    language = page_language(request, merchant.locale)
    with translation.override(language):
        page = page_for_verification(order_id.removesuffix(".pdf"))
    context = {"page": page, "verified": False, "verify_failed": failed, "link_expired": expired}
    response = _render(request, context, merchant=merchant, language=language, template=template)
    if failed:
        response.status_code = 403
    return response


def _verify(request: HttpRequest, merchant: Merchant, order_id: str, *,
            lookup: bool = False) -> HttpResponse:  # fmt: skip
    """The customer proves it is their order with its email or postal code (the gate's form
    and the lookup form are one form; the order number typed in it wins over the link's)."""
    if _too_many(request, miss=True):  # guesses count as misses: no brute force
        return _rate_limited()
    order_id = request.POST.get("order", "").strip()[:100] or order_id
    order = order_for_verification(merchant, _ids_in_path(order_id)) if order_id else None
    if order is not None and _answer_matches(order, request.POST.get("answer", "")):
        return _redirect_signed(request, merchant, order)
    if lookup:
        return _lookup_page(request, merchant, order_id, failed=True)
    return _gate(request, merchant, order_id, failed=True)


def _answer_matches(order: Order, answer: str) -> bool:
    def normal(value: str) -> str:
        return "".join(value.lower().split())

    return normal(answer) in {normal(order.customer_email), normal(order.postal_code)} - {""}


def _redirect_signed(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    """To the order's own address (encoded: a Shopify "#1001" must not become a fragment), which
    the new signature names, the PDF's when the form was the PDF's."""
    query = request.GET.copy()
    query["t"] = tracking_page_token(merchant.merchant_id, order.order_id)
    path = reverse("order_page", args=[merchant.merchant_id, order.order_id])
    if request.path.endswith(".pdf") and not order.order_id.endswith(".pdf"):
        path += ".pdf"
    return HttpResponseRedirect(f"{path}?{query.urlencode()}")


@require_http_methods(["GET", "POST"])
@replica_reads(_page_readers)
def returns_page(request: HttpRequest, merchant_id: str, order_id: str) -> HttpResponse:
    """`/returns/<merchant>/<order>`: the customer asks to return or exchange delivered items
    (issue 25). Behind the order page's rules: its signed link or the gate, its rate limits,
    the same 404 for another merchant's order."""
    admitted = _admitted(request, merchant_id, order_id)
    if isinstance(admitted, HttpResponse):
        return admitted
    merchant, signed_id = admitted
    order = order_for_page(merchant, signed_id or order_id)
    policy = return_policy_for(merchant)
    if order is None or policy is None:
        return _not_found(request, counted=signed_id is None, merchant=merchant, order_id=order_id)
    language = page_language(request, order.locale)
    if request.method == "POST":
        return _return_asked(request, merchant, order, policy, language)
    return _returns_form(request, merchant, order, policy, language)


def _returns_form(request, merchant, order, policy, language, *, error: str = "",
                  field_errors: dict | None = None) -> HttpResponse:  # fmt: skip
    template = branding_template_for(merchant, request.GET.get("templateName"))
    with translation.override(language):
        page = page_for_order(order)
        form = return_form(order_return_options(order), policy, error=error,
                           values=request.POST if request.method == "POST" else {},
                           field_errors=field_errors)  # fmt: skip
        title = translation.gettext("Return or exchange items")
    context = {"page": page, "verified": True, "verify_failed": False, "returns_form": form,
               "returns_title": title,
               "back_url": _signed_path(request, "order_page", merchant, order)}  # fmt: skip
    response = _render(request, context, merchant=merchant, language=language, template=template)
    if error:
        response.status_code = 422
    return response


def _return_asked(request, merchant, order, policy, language) -> HttpResponse:
    """The form's answer: the request made and the customer back on the order page, where it
    shows; or the form again with what was refused, said in the customer's language."""
    line_items = list(order.line_items.all())
    asked = [(li, request.POST.get(return_field_name(li), "")) for li in line_items]
    asked = [(li, quantity_from_form(value)) for li, value in asked if value.strip()]
    try:
        return_request_create(
            order=order,
            items=[ReturnItemInput(li.item_id, quantity) for li, quantity in asked],
            reason=request.POST.get("reason", "")[:40],
            exchange_variant=request.POST.get("exchange_variant", "")[:300],
            comment=request.POST.get("comment", "")[:2000],
            language=language,
        )
    except ReturnNotAllowed as refused:
        errors = _form_errors(refused, [li for li, _quantity in asked])
        return _returns_form(request, merchant, order, policy, language, error=refused.message,
                             field_errors=errors)  # fmt: skip
    path = _signed_path(request, "order_page", merchant, order)
    return HttpResponseRedirect(f"{path}#returns", status=303)


def _form_errors(refused: ReturnNotAllowed, asked: list) -> dict[str, str]:
    """The service's fields (`items[<index in what was asked>]`, `reason`, `exchangeVariant`)
    as the form's: an item's error beside its quantity."""
    errors = {}
    for key, messages in (refused.fields or {}).items():
        index = key.removeprefix("items[").removesuffix("]")
        if key.startswith("items[") and index.isdigit() and int(index) < len(asked):
            errors[return_field_name(asked[int(index)])] = messages[0]
        else:
            errors[key] = messages[0]
    return errors


def _signed_path(request: HttpRequest, view: str, merchant: Merchant, order: Order) -> str:
    """The order's page or returns page, signed, in the language and branding of this link."""
    query = {"t": tracking_page_token(merchant.merchant_id, order.order_id)}
    for kept in ("lang", "templateName"):
        if request.GET.get(kept):
            query[kept] = request.GET[kept]
    path = reverse(view, args=[merchant.merchant_id, order.order_id])
    return f"{path}?{urlencode(query)}"


def _check_for_updates(request: HttpRequest, merchant: Merchant, order: Order) -> HttpResponse:
    """ "Check for updates": the carrier is asked now for one of the order's packages, through the
    console's bounded refresh, unless it was asked in the last few minutes (by anyone: the
    poller, an agent, another visitor), so that a customer reloading cannot hammer a carrier.
    Back to the page either way, opened on that package."""
    number = request.POST.get("check_updates", "")
    shipment = next((s for s in order.shipments.all() if s.tracking_number == number), None)
    if shipment is not None and ratelimit.take(
        f"page-check:{_visitor(request)}", settings.PAGE_CHECKS_PER_MINUTE
    ):
        shipment_check_for_customer(shipment)
    query = request.GET.copy()
    query["t"] = tracking_page_token(merchant.merchant_id, order.order_id)
    query["trackingId"] = number
    query["checked"] = str(int(timezone.now().timestamp()))  # a fresh URL: no cached page
    path = reverse("order_page", args=[merchant.merchant_id, order.order_id])
    return HttpResponseRedirect(f"{path}?{query.urlencode()}#package-{_safe_name(number)}")


def _pdf_response(request, context, merchant, language, template, order) -> HttpResponse:
    paper = request.GET.get("paper") or ("letter" if order.country_code in ("US", "CA") else "a4")
    context = {**context, "paper": paper, "generated_at": timezone.now()}
    html = _render(request, context, merchant=merchant, language=language, template=template,
                   pdf=True)  # fmt: skip
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="order-{_safe_name(order.order_id)}.pdf"'
    response["Cache-Control"] = "private, max-age=60"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _safe_name(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)[:80]


@require_GET
@replica_reads(_page_readers)
def tracker_page(request: HttpRequest, merchant_id: str, tracker_external_id: str) -> HttpResponse:
    if _too_many(request):
        return _rate_limited()
    merchant = merchant_get_by_public_id(merchant_id)
    tracker = tracker_for_page(merchant, tracker_external_id) if merchant else None
    if tracker is None:
        return _not_found(request)
    return _trackers_page(request, merchant, [tracker], tracker.external_id, tracker.locale)


@require_GET
@replica_reads(_page_readers)
def group_page(request: HttpRequest, merchant_id: str, group_id: str) -> HttpResponse:
    if _too_many(request):
        return _rate_limited()
    merchant = merchant_get_by_public_id(merchant_id)
    trackers = trackers_in_group(merchant, group_id) if merchant else []
    if not trackers:
        return _not_found(request)
    return _trackers_page(request, merchant, trackers, group_id, trackers[0].locale)


def _trackers_page(request, merchant, trackers, key: str, locale: str) -> HttpResponse:
    template = branding_template_for(merchant, request.GET.get("templateName"))
    language = page_language(request, locale)
    with translation.override(language):
        title = translation.gettext("Delivery %(reference)s") % {"reference": key}
        page = page_for_trackers(title, trackers, merchant.name)
    context = {"page": page, "verified": True, "verify_failed": False}
    return _render(request, context, merchant=merchant, language=language, template=template)


@staff_member_required
def branding_template_preview(request: HttpRequest, template_id: int) -> HttpResponse:
    """The customer page in this template's branding, on the merchant's newest order or on
    demo data when it has none yet."""
    template = get_object_or_404(
        BrandingTemplate.objects.select_related("merchant"),
        pk=template_id,
        merchant__in=merchants_visible_to(request.user),
    )
    merchant = template.merchant
    language = page_language(request, merchant.locale)
    order = order_latest_for_page(merchant)
    with translation.override(language):
        page = page_for_order(order) if order else demo_page()
    context = {"page": page, "verified": True, "verify_failed": False, "preview": True}
    return _render(request, context, merchant=merchant, language=language, template=template)


@require_GET
def branding_logo(request: HttpRequest, template_id: int) -> HttpResponse:
    logo = (
        BrandingTemplate.objects.filter(pk=template_id).values_list("logo_png", flat=True).first()
    )
    if not logo:
        raise Http404
    response = HttpResponse(bytes(logo), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    response["ETag"] = f'"{hashlib.sha256(bytes(logo)).hexdigest()[:16]}"'
    return response
