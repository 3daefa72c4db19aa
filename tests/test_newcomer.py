"""A newcomer's first minutes (README): `make run PORT=…` prints links and sends emails that work on
that port, emails in development are files with one line each, and `/` says where to go."""

import io
import logging
import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.core.management import call_command

from flextracker.headers import CONSOLE_POLICY
from notifications.tasks import send_notifications

ROOT = Path(__file__).resolve().parent.parent


def settings_under(env: dict) -> list[str]:
    """PUBLIC_BASE_URL, EMAIL_BACKEND and EMAIL_FILE_PATH as a process started with `env` has."""
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.PUBLIC_BASE_URL, s.EMAIL_BACKEND, getattr(s, 'EMAIL_FILE_PATH', '') or '-')"
    )
    environment = {**os.environ, "DEBUG": "true", **env}
    for name in ("PUBLIC_BASE_URL", "EMAIL_URL", "EMAIL_FILE_PATH", "PORT"):
        if name not in env:
            environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
        text=True, check=True, timeout=60,
    )  # fmt: skip
    return result.stdout.split()


def test_links_follow_the_port_make_run_serves_unless_public_base_url_is_set():
    # when: `make run PORT=8631` exports PORT to the server, the worker and load_demo
    on_8631 = settings_under({"PORT": "8631"})
    chosen = settings_under({"PORT": "8631", "PUBLIC_BASE_URL": "https://track.example.com/"})
    # then
    assert on_8631[0] == "http://127.0.0.1:8631"
    assert chosen[0] == "https://track.example.com"


def test_development_writes_emails_to_files_and_an_email_url_sends_them():
    # when
    development = settings_under({})
    with_server = settings_under({"EMAIL_URL": "smtp://127.0.0.1:2525"})
    # then
    assert development[1:] == ["flextracker.mail.EmailFileBackend", str(ROOT / "var" / "emails")]
    assert with_server[1:] == ["django.core.mail.backends.smtp.EmailBackend", "-"]


@pytest.mark.django_db
def test_the_demo_prints_and_emails_links_on_the_port_served_and_one_line_per_email(
    settings, tmp_path, caplog
):
    # given: what `make run PORT=8631` gives the demo and the worker
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8631"
    settings.EMAIL_BACKEND = "flextracker.mail.EmailFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "emails")
    printed = io.StringIO()
    # when: the demo loads, then the worker sends what it queued
    call_command("load_demo", stdout=printed)
    with caplog.at_level(logging.INFO, logger="flextracker.mail"):
        send_notifications()
    # then: every printed link is on the port served, the console and API docs among them
    printed = printed.getvalue()
    links = re.findall(r"https?://\S+", printed)
    assert links and all(link.startswith("http://127.0.0.1:8631/") for link in links)
    assert "Start here: http://127.0.0.1:8631/\n" in printed
    assert "Console:    http://127.0.0.1:8631/console/ " in printed
    assert "API docs:   http://127.0.0.1:8631/api/docs/\n" in printed
    assert f"Emails go to {tmp_path / 'emails'}/, one .eml file each." in printed
    # and each email is a file whose links are on that port, announced in one line, no MIME
    files = sorted((tmp_path / "emails").glob("*.eml"))
    assert files, "the demo's customer emails"
    for file in files:
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        html = message.get_body(("html",)).get_content()
        assert "http://127.0.0.1:8631/orders/FDC-01-12345/" in html
        assert ":8000" not in html
    lines = [r.getMessage() for r in caplog.records if r.name == "flextracker.mail"]
    assert len(lines) == len(files)
    assert all(line.startswith("Email to jane@example.com: ") for line in lines)
    assert all("\n" not in line and "Content-Type" not in line for line in lines)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_the_root_url_says_what_this_is_and_where_to_go(client, settings, debug):
    # given: the demo merchant
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = debug
    # when
    response = client.get("/")
    # then: the console, the admin and the API docs, and the demo's pages in development only
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONSOLE_POLICY
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Post-purchase tracking for your customers" in page
    for path in ("/console/", "/admin/", "/api/docs/"):
        assert f'href="{path}"' in page
    demo_links = re.findall(r'href="(http://[^"]+/orders/FDC-01-12345/[^"]+)"', page)
    assert len(demo_links) == (3 if debug else 0)
    for link in demo_links:
        assert client.get("/" + link.split("/", 3)[3]).status_code == 200
