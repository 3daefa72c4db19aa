"""Server-rendered customer pages (API.md "Customer links")."""

import hashlib

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from merchants.models import BrandingTemplate
from merchants.selectors import (
    branding_template_for,
    merchant_get_by_public_id,
    merchants_visible_to,
)
from orders.selectors import order_get_for_merchant, order_latest_for_merchant
from orders.tracking_page import OrderPage, demo_page, page_for_order


def _render_page(
    request: HttpRequest, page: OrderPage, template: BrandingTemplate, *, preview: bool = False
) -> HttpResponse:
    response = render(
        request,
        "orders/tracking_page.html",
        {"page": page, "brand": template, "merchant": template.merchant, "preview": preview},
    )
    response["Cache-Control"] = "private, max-age=60"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def order_page(request: HttpRequest, merchant_id: str, order_id: str) -> HttpResponse:
    merchant = merchant_get_by_public_id(merchant_id)
    order = order_get_for_merchant(merchant, order_id) if merchant else None
    if order is None:
        raise Http404  # the same answer for an unknown merchant and an unknown order
    template = branding_template_for(merchant, request.GET.get("templateName"))
    page = page_for_order(order, tracking_number=request.GET.get("trackingId"))
    return _render_page(request, page, template)


@staff_member_required
def branding_template_preview(request: HttpRequest, template_id: int) -> HttpResponse:
    """The customer page in this template's branding, on the merchant's newest order or on
    demo data when it has none yet."""
    template = get_object_or_404(
        BrandingTemplate.objects.select_related("merchant"),
        pk=template_id,
        merchant__in=merchants_visible_to(request.user),
    )
    order = order_latest_for_merchant(template.merchant)
    page = page_for_order(order) if order else demo_page()
    return _render_page(request, page, template, preview=True)


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
