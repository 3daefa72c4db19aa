"""Racing real transactions against each other (RELIABILITY.md): threads released together by a
barrier, each closing its own database connection. Only PostgreSQL has the row locks to race."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

requires_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and concurrent writers need PostgreSQL"
)


def run_at_once(count: int, action: Callable[[], object]) -> list:
    """Runs `action` in `count` threads that start together; each result, or what it raised."""
    barrier = threading.Barrier(count)
    results: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(action())
        except Exception as error:  # collected for the caller's assertions
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
