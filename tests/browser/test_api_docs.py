"""The interactive API docs (/api/docs/) offline, in headless Chromium (issue 19 item 19): with
every host but this one unreachable, Swagger UI still renders the operations, from our own
static files, under the page's Content-Security-Policy and with nothing refused by it."""

from urllib.parse import urlsplit

import pytest

from flextracker.headers import API_DOCS_POLICY
from tests.browser.chromium import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def offline_page(browser, live_server):
    """A page whose requests to any host but the live server are aborted, never sent; `.blocked`
    lists them and `.console` the browser's console messages."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.blocked, page.console = [], []
    own_host = urlsplit(live_server.url).netloc

    def only_this_host(route):
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_host)
    page.on("console", lambda message: page.console.append(message.text))
    yield page
    context.close()


def test_swagger_ui_renders_the_operations_offline_under_its_csp(
    offline_page, live_server, screenshot_path
):
    page = offline_page
    # when
    response = page.goto(f"{live_server.url}/api/docs/")
    operation = page.locator(
        ".opblock-summary-path", has_text="/api/v1/tracking/{tracking_number}/events"
    )
    operation.first.wait_for(timeout=30_000)
    # then: the page and every file it loaded came from here
    assert response.status == 200
    assert response.headers["content-security-policy"] == API_DOCS_POLICY
    assert page.blocked == []
    assert (
        page.locator(".info .title")
        .inner_text()
        .startswith("flexTracker eCommerce Notification API")
    )
    assert page.locator(".opblock-summary-path", has_text="/api/v1/orders").count() >= 1
    assert [text for text in page.console if "Content Security Policy" in text] == []
    page.screenshot(path=screenshot_path("api-docs.png"))
    # when: an operation is opened
    operation.first.click()
    # then: its description and responses show
    page.locator(".opblock-body .responses-wrapper").first.wait_for()
    assert page.locator(".opblock-body .response-col_status", has_text="401").count() >= 1
