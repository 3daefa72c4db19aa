"""django-q2 entry points of the orders app: each calls one function and is safe to run twice."""

import time

from django.conf import settings
from django_q.tasks import async_task

from ingest.channels.files import file_sources_poll
from ingest.channels.imap import mailboxes_poll
from ingest.channels.pulls import platform_connections_pull
from ingest.queued import queued_drain

ROUND_BUDGET_SECONDS = settings.TASK_ROUND_SECONDS  # 45 s of Q_TIMEOUT 60; a long file goes on


def poll_file_sources() -> str:
    """New files of every active file source, record by record, until the budget is spent."""
    return str(file_sources_poll(deadline=time.monotonic() + ROUND_BUDGET_SECONDS))


def apply_queued_messages() -> str:
    """The API's queued messages (`Prefer: respond-async`) until none is left, or the budget is
    spent and another task goes on."""
    applied, done = queued_drain(deadline=time.monotonic() + ROUND_BUDGET_SECONDS)
    if not done:
        async_task("ingest.tasks.apply_queued_messages", task_name="apply queued messages, again")
    return str(applied)


def pull_platforms() -> str:
    """Every platform connection whose pull is due (Magento, any OMS's REST API)."""
    return str(platform_connections_pull(deadline=time.monotonic() + ROUND_BUDGET_SECONDS))


def poll_mailboxes() -> str:
    """New emails of every active email source that reads an IMAP mailbox."""
    return str(mailboxes_poll(deadline=time.monotonic() + ROUND_BUDGET_SECONDS))
