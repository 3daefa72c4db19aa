"""django-q2 entry points: each loads what it needs and calls one service; safe to run twice."""

import time

from django.conf import settings
from django.utils import timezone

from tracking.delays import shipments_flag_delayed
from tracking.polling import poll_due_shipments
from tracking.predictions import predictions_refresh
from tracking.registration import registrations_run

ROUND_BUDGET_SECONDS = settings.TASK_ROUND_SECONDS  # 45 s: within the minute of the schedule


def poll_carriers() -> str:
    """Polls everything due, in rounds, until nothing is due or the minute is nearly spent."""
    started, total = time.monotonic(), 0
    while time.monotonic() - started < ROUND_BUDGET_SECONDS:
        report = poll_due_shipments(now=timezone.now())
        total += report.claimed
        if report.claimed == 0:
            break
    return f"polled {total}"


def flag_delayed() -> str:
    return f"flagged {shipments_flag_delayed(now=timezone.now())} delayed"


def register_with_aggregators() -> str:
    return f"registration attempts {registrations_run(now=timezone.now())}"


def refresh_predictions() -> str:
    return f"predicted {predictions_refresh(now=timezone.now())} shipments"
