"""What customer-service agents write from the console: notes on orders, and the audit log that
records every action they take (who, what, when)."""

from django.contrib.auth.models import AbstractBaseUser

from orders.models import AuditAction, AuditEntry, Order, OrderNote

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
