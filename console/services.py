"""What customer-service agents write from the console: notes on orders, their decisions on return
requests, and the audit log that records every action they take (who, what, when)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from orders.models import AuditAction, AuditEntry, Order, OrderNote, ReturnRequest
from orders.services.returns import (
    return_request_approve,
    return_request_label,
    return_request_refuse,
)

MAX_NOTE_LENGTH = 5000


def audit_record(*, user: AbstractBaseUser, order: Order, action: str, detail: str = "") -> None:
    AuditEntry.objects.create(
        merchant_id=order.merchant_id, order=order, user=user, user_name=user.get_username(),
        action=action, detail=detail[:500],
    )  # fmt: skip


def order_note_add(*, user: AbstractBaseUser, order: Order, text: str) -> OrderNote | None:
    """None for an empty note (nothing to keep)."""
    text = text.strip()[:MAX_NOTE_LENGTH]
    if not text:
        return None
    note = OrderNote.objects.create(
        order=order, author=user, author_name=user.get_username(), text=text
    )
    audit_record(user=user, order=order, action=AuditAction.ADD_NOTE, detail=text[:100])
    return note


def return_approve_by_agent(*, user: AbstractBaseUser, return_request: ReturnRequest,
                            message: str = "") -> ReturnRequest:  # fmt: skip
    with transaction.atomic():
        approved = return_request_approve(return_request=return_request, message=message)
        audit_record(user=user, order=approved.order, action=AuditAction.APPROVE_RETURN,
                     detail=approved.public_id)  # fmt: skip
    return approved


def return_refuse_by_agent(*, user: AbstractBaseUser, return_request: ReturnRequest,
                           message: str) -> ReturnRequest:  # fmt: skip
    with transaction.atomic():
        refused = return_request_refuse(return_request=return_request, message=message)
        audit_record(user=user, order=refused.order, action=AuditAction.REFUSE_RETURN,
                     detail=f"{refused.public_id}: {refused.merchant_message}")  # fmt: skip
    return refused


def return_label_by_agent(*, user: AbstractBaseUser, return_request: ReturnRequest,
                          tracking_number: str = "", carrier: str = "",
                          label_url: str = "") -> ReturnRequest:  # fmt: skip
    with transaction.atomic():
        labelled = return_request_label(
            return_request=return_request, label_url=label_url,
            tracking_number=tracking_number, carrier=carrier,
        )  # fmt: skip
        detail = " ".join(filter(None, [labelled.public_id, tracking_number, label_url]))
        audit_record(user=user, order=labelled.order, action=AuditAction.RETURN_LABEL,
                     detail=detail)  # fmt: skip
    return labelled
