"""Fixtures the notifications tests share: a local SMTP server (smtp.py) and a merchant's
webhook receiver (http_receiver.py)."""

import pytest

from notifications.tests.http_receiver import receiver  # noqa: F401 - a fixture, shared
from notifications.tests.smtp import Inbox, SmtpServer, free_port


@pytest.fixture
def smtp_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return settings


@pytest.fixture
def smtp_server(smtp_settings):
    server = SmtpServer(smtp_settings.EMAIL_PORT)
    yield server
    if server.controller._thread is not None:
        server.stop()


@pytest.fixture
def inbox(smtp_server) -> Inbox:
    return smtp_server.start()
