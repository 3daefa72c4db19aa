"""django-q2 entry points for the outbox; safe to run twice (rows are claimed, not assumed)."""

import time

from django.conf import settings

from notifications.sending import notifications_send_due

ROUND_BUDGET_SECONDS = settings.TASK_ROUND_SECONDS


def send_notifications() -> str:
    """Sends what is due, in rounds, until nothing is due or the minute is nearly spent. Queued
    right after new rows (a hint) and every minute (the sweep that catches lost hints)."""
    started, sent = time.monotonic(), 0
    while time.monotonic() - started < ROUND_BUDGET_SECONDS:
        report = notifications_send_due()
        sent += report.sent
        if report.claimed == 0:
            break
    return f"sent {sent}"
