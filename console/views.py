"""Console pages: parse the request, call one selector or service, render. Every view is behind
`console_view` (logged in and allowed at least one merchant), and every order is looked up through
the user's scope, so another merchant's order is a 404 — in every screen and every action."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from console.selectors import (
    order_for_user,
    order_story,
    return_request_for_user,
    return_request_list_for_user,
)
from console.services import (
    audit_record,
    order_note_add,
    return_approve_by_agent,
    return_label_by_agent,
    return_refuse_by_agent,
)
from flextracker.errors import ApiError
from flextracker.replica import SAFE_METHODS, replica_reads, user_client, writes_note
from merchants.selectors import merchants_visible_to, user_sees_all_merchants
from notifications.models import Notification
from notifications.services import notification_resend
from orders.links import tracking_page_pdf_url, tracking_page_url
from orders.models import AuditAction, Order, ReturnRequest, ReturnStatus
from orders.search import orders_search
from tracking.polling import shipment_refresh_summary

MAX_QUERY_LENGTH = 200


def console_view(view: Callable) -> Callable:
    """Logged in and allowed a merchant (checked on the primary); after an action, the agent's
    next reads wait for the replica to replay it (flextracker/replica.py)."""

    @login_required(login_url="admin:login")
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not merchants_visible_to(request.user).exists():
            raise PermissionDenied(_("Your login is not linked to a merchant."))
        response = view(request, *args, **kwargs)
        if request.method not in SAFE_METHODS:
            writes_note([user_client(request.user)])
        return response

    return wrapped


def agent_readers(request: HttpRequest, *args, **kwargs) -> list[str]:
    """Whose writes a console screen that only reads must show at once: the agent's own."""
    return [user_client(request.user)]


def _order_or_404(request: HttpRequest, order_pk: int) -> Order:
    order = order_for_user(request.user, order_pk)
    if order is None:
        raise Http404(_("No such order."))
    return order


@require_GET
@console_view
@replica_reads(agent_readers)
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:MAX_QUERY_LENGTH].strip()
    hits = orders_search(request.user, query) if query else []
    if len(hits) == 1 and request.GET.get("go") == "1":
        return redirect("console:order", order_pk=hits[0].order.pk)
    context = {
        "query": query,
        "hits": hits,
        "all_merchants": user_sees_all_merchants(request.user),
    }
    template = "console/_results.html" if request.GET.get("partial") else "console/search.html"
    return render(request, template, context)


@require_GET
@console_view
def order_detail(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = _order_or_404(request, order_pk)
    context = {
        "story": order_story(order),
        "customer_link": tracking_page_url(order),
        "all_merchants": user_sees_all_merchants(request.user),
    }
    return render(request, "console/order.html", context)


def _back(order: Order) -> HttpResponse:
    return redirect("console:order", order_pk=order.pk)


@require_POST
@console_view
def refresh_tracking(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = _order_or_404(request, order_pk)
    for shipment in order.shipments.all():
        summary = shipment_refresh_summary(shipment)
        if not summary.ran:
            messages.warning(request, summary.text)
            continue
        messages.info(request, summary.text)
        audit_record(user=request.user, order=order, action=AuditAction.REFRESH_TRACKING,
                     detail=summary.text)  # fmt: skip
    return _back(order)


@require_POST
@console_view
def resend_notification(request: HttpRequest, order_pk: int, notification_pk: int) -> HttpResponse:
    order = _order_or_404(request, order_pk)
    notification = Notification.objects.filter(pk=notification_pk, order=order).first()
    if notification is None:
        raise Http404(_("No such notification on this order."))
    copy = notification_resend(notification=notification)
    if copy is None:
        messages.warning(request, _("That message is still being sent; it was not resent."))
        return _back(order)
    messages.success(request, _("Queued again: %(what)s") % {"what": notification})
    audit_record(user=request.user, order=order, action=AuditAction.RESEND_NOTIFICATION,
                 detail=str(notification))  # fmt: skip
    return _back(order)


@require_POST
@console_view
def add_note(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = _order_or_404(request, order_pk)
    if order_note_add(user=request.user, order=order, text=request.POST.get("text", "")) is None:
        messages.warning(request, _("The note was empty; nothing was saved."))
    return _back(order)


@require_POST
@console_view
def copy_link(request: HttpRequest, order_pk: int) -> HttpResponse:
    """Called by the "Copy link" button as it copies; answers the link for the clipboard."""
    order = _order_or_404(request, order_pk)
    link = tracking_page_url(order)
    audit_record(user=request.user, order=order, action=AuditAction.COPY_LINK, detail=link)
    return JsonResponse({"link": link})


@require_GET
@console_view
def open_pdf(request: HttpRequest, order_pk: int) -> HttpResponse:
    order = _order_or_404(request, order_pk)
    audit_record(user=request.user, order=order, action=AuditAction.OPEN_PDF)
    return redirect(tracking_page_pdf_url(order))


@require_GET
@console_view
@replica_reads(agent_readers)
def returns(request: HttpRequest) -> HttpResponse:
    """Return requests of the agent's merchants, newest first, filtered by status."""
    status = request.GET.get("status", "")
    status = status if status in ReturnStatus.values else ""
    context = {
        "requests": return_request_list_for_user(request.user, status=status),
        "status": status,
        "statuses": ReturnStatus.choices,
        "all_merchants": user_sees_all_merchants(request.user),
    }
    return render(request, "console/returns.html", context)


def _return_or_404(request: HttpRequest, return_id: str) -> ReturnRequest:
    return_request = return_request_for_user(request.user, return_id)
    if return_request is None:
        raise Http404(_("No such return request."))
    return return_request


@require_GET
@console_view
def return_detail(request: HttpRequest, return_id: str) -> HttpResponse:
    context = {
        "return_request": _return_or_404(request, return_id),
        "all_merchants": user_sees_all_merchants(request.user),
    }
    return render(request, "console/return.html", context)


def _decided(request: HttpRequest, return_request: ReturnRequest, decide: Callable) -> HttpResponse:
    """Runs the agent's decision; a refusal by the rules (a status already moved on, a message
    missing, a tracking number already used) is said on the screen, not a 500."""
    try:
        decided = decide()
    except ApiError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Return %(id)s is now %(status)s.") % {
            "id": decided.public_id, "status": decided.get_status_display()})  # fmt: skip
    return redirect("console:return", return_id=return_request.public_id)


@require_POST
@console_view
def return_approve(request: HttpRequest, return_id: str) -> HttpResponse:
    return_request = _return_or_404(request, return_id)
    message = request.POST.get("message", "")[:2000]
    return _decided(request, return_request, lambda: return_approve_by_agent(
        user=request.user, return_request=return_request, message=message))  # fmt: skip


@require_POST
@console_view
def return_refuse(request: HttpRequest, return_id: str) -> HttpResponse:
    return_request = _return_or_404(request, return_id)
    message = request.POST.get("message", "")[:2000]
    return _decided(request, return_request, lambda: return_refuse_by_agent(
        user=request.user, return_request=return_request, message=message))  # fmt: skip


@require_POST
@console_view
def return_label(request: HttpRequest, return_id: str) -> HttpResponse:
    return_request = _return_or_404(request, return_id)
    number = request.POST.get("tracking_number", "").strip()[:100]
    carrier = request.POST.get("carrier", "").strip()[:40]
    label_url = request.POST.get("label_url", "").strip()[:2000]
    if label_url and not _is_web_address(label_url):
        messages.error(request, _("The label link must be a web address (https://…)."))
        return redirect("console:return", return_id=return_request.public_id)
    return _decided(request, return_request, lambda: return_label_by_agent(
        user=request.user, return_request=return_request, tracking_number=number,
        carrier=carrier, label_url=label_url))  # fmt: skip


def _is_web_address(value: str) -> bool:
    try:
        URLValidator(schemes=["https", "http"])(value)
    except ValidationError:
        return False
    return True


def home(request: HttpRequest) -> HttpResponse:
    return redirect(reverse("console:search"))
