"""The console's login under brute force, in headless Chromium (issue 19 item 3): after five wrong
passwords the login is locked, the right password too; a flexTracker administrator finds the
lockout in the admin and lifts it, and the agent gets in. Screenshots land in tests/screenshots/."""

import pytest
from axes.models import AccessAttempt

from merchants.models import Merchant
from merchants.tests.factories import member_of
from tests.browser.chromium import needs_chromium
from tests.browser.logins import PASSWORD, log_in

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def open_(path: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}{path}")
        return page

    yield open_
    for context in contexts:
        context.close()


def _submit_login(page, username: str, password: str) -> None:
    log_in(page, username, password)
    page.wait_for_load_state()


def test_five_wrong_passwords_lock_the_console_login_until_staff_lift_it(
    new_page, demo, staff, screenshot_path
):
    # given: an agent of the demo merchant at the console's login
    agent = member_of(Merchant.objects.get(merchant_id="FDC-01-12345"), "agent")
    # and a flexTracker administrator already signed in, in another browser (the lockout holds
    # for this address too, which both share here)
    admin = new_page("/admin/login/?next=/admin/")
    _submit_login(admin, staff.username, "pw")
    page = new_page("/console/")
    # when: four wrong passwords
    for _ in range(4):
        _submit_login(page, agent.username, "not my password")
        # then: the form again, with its error
        assert page.locator(".errornote").is_visible()
        assert "Please enter the correct username and password" in page.inner_text(".errornote")
    # when: the fifth, then the right password
    _submit_login(page, agent.username, "not my password")
    page.goto(page.url)  # the login form anew
    _submit_login(page, agent.username, PASSWORD)
    # then: locked out, and not in
    assert page.locator("h1").inner_text() == "Too many failed logins"
    assert page.get_by_text("Try again in 15 minutes").is_visible()
    page.screenshot(path=screenshot_path("login-locked-out.png"), full_page=True)
    page.goto(page.url.split("/admin/")[0] + "/console/search")
    assert "/admin/login/" in page.url

    # when: the administrator opens the lockouts in the admin
    admin.goto(admin.url.split("/admin/")[0] + "/admin/axes/accessattempt/?locked_out=yes")
    row = admin.locator("#result_list tbody tr")
    # then: one row, the agent's, from the local address
    assert row.count() == 1
    assert agent.username in row.inner_text() and "127.0.0.1" in row.inner_text()
    admin.screenshot(path=screenshot_path("admin-lockouts.png"), full_page=True)
    # when: the administrator deletes it
    row.locator("input.action-select").check()
    admin.select_option("select[name=action]", "delete_selected")
    admin.click("button[name=index]")
    admin.click("input[type=submit]")  # "Yes, I'm sure"
    admin.wait_for_load_state()
    # then
    assert not AccessAttempt.objects.exists()

    # when: the agent tries again
    page.goto(page.url)
    _submit_login(page, agent.username, PASSWORD)
    # then: in the console
    page.wait_for_url("**/console/search")
    assert page.get_by_role("searchbox", name="Search orders").is_visible()
