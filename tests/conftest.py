"""Fixtures of the tests that run real workers (tests/workers.py)."""

import pytest
from aiosmtpd.controller import Controller

from notifications.tests.smtp import free_port
from tests.workers import Inbox


@pytest.fixture
def smtp_sink():
    """An SMTP server for the workers to send to: (its Inbox, its port)."""
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()
