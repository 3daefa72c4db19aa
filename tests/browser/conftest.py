"""Browser tests drive Debian's chromium (`apt-get install chromium`) through Playwright.

Playwright's own browser download (`playwright install`) is never used.
"""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from notifications.tests.conftest import inbox, smtp_server, smtp_settings  # noqa: F401 - fixtures
from tests.browser.chromium import CHROMIUM, MISSING_REASON
from tests.browser.logins import log_in

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(MISSING_REASON)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django takes for
    # an async context and refuses the ORM (fixtures, flush). The tests themselves are plain
    # sync code, so allow it while this module's browser lives, and only then.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def demo(transactional_db, settings):
    """The demo merchant FDC-01-12345, its two templates and orders FDC-1001..1003."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # its 2 logins
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def screenshot_path():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return lambda name: SCREENSHOTS / name


@pytest.fixture
def open_page(browser, live_server, demo):
    """open_page(path, width=1280, height=900, ..., status=200) -> a Playwright page, loaded with
    that status.

    Each call gets its own browser context (no shared cookies or cache); all close afterwards.
    """
    contexts = []

    def open_(path: str, *, width: int = 1280, height: int = 900, phone: bool = False,
              javascript: bool = True, status: int = 200):  # fmt: skip
        context = browser.new_context(
            viewport={"width": width, "height": height},
            is_mobile=phone,
            has_touch=phone,
            device_scale_factor=2 if phone else 1,
            java_script_enabled=javascript,
        )
        contexts.append(context)
        page = context.new_page()
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == status, path
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(browser, live_server):
    """signed_in(user, path="/console/", lands_on="**/console/search") -> a page where `user`
    logged in through the form `path` leads to, and arrived at `lands_on`. Each call gets its own
    browser context, with the clipboard allowed (the console's "copy link"); all close afterwards.
    """
    contexts = []

    def sign_in(user, path: str = "/console/", lands_on: str = "**/console/search"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        log_in(page, user.username)
        page.wait_for_url(lands_on)
        page.wait_for_load_state()  # the page's scripts are attached
        return page

    yield sign_in
    for context in contexts:
        context.close()
