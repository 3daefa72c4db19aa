"""django-q2 entry points of the orders app: each calls one function and is safe to run twice."""

import time

from orders.channels.files import file_sources_poll

ROUND_BUDGET_SECONDS = 45  # the schedule runs each minute (Q_TIMEOUT 60 s); a long file goes on


def poll_file_sources() -> str:
    """New files of every active file source, record by record, until the budget is spent."""
    return str(file_sources_poll(deadline=time.monotonic() + ROUND_BUDGET_SECONDS))
