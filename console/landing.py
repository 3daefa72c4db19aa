"""`/`: what this site is and where to go next. In development it also lists the demo merchant's
customer pages, so a newcomer who opens the root URL finds everything `make run` printed."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from console.management.commands.load_demo import MERCHANT_ID as DEMO_MERCHANT_ID
from orders.links import tracking_page_url
from orders.models import Order

DEMO_PAGES = 6


@require_GET
def landing_page(request: HttpRequest) -> HttpResponse:
    demo_orders = []
    if settings.DEBUG:
        demo_orders = (
            Order.objects.filter(merchant__merchant_id=DEMO_MERCHANT_ID)
            .select_related("merchant")
            .order_by("order_id")[:DEMO_PAGES]
        )
    demo_pages = [(order.order_id, tracking_page_url(order)) for order in demo_orders]
    return render(request, "landing.html", {"demo_pages": demo_pages})


# Mounted at the site's root by flextracker/urls.py (the console's own URLs live under /console/).
urlpatterns = [path("", landing_page, name="landing")]
