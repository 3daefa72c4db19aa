"""The customer tracking page as a customer sees it, in headless Chromium, on the demo data.

Screenshots land in tests/screenshots/ (ignored by git) for a human to look at.
"""

import gettext
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.translation import to_locale

from carriers.events import CarrierEvent, Location
from merchants.models import BrandingTemplate, Merchant
from orders.links import tracking_page_url
from orders.models import Shipment
from orders.tests.factories import create_order, ship
from tests.browser.chromium import needs_chromium
from tracking.services import shipment_apply_events

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

MERCHANT_ID = "FDC-01-12345"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
PHONE = {"width": 360, "height": 740, "phone": True}


def order_path(order_id: str = "FDC-1001", **query: str) -> str:
    query = {"templateName": "FDC_TEMPLATE", **query}
    return f"/orders/{MERCHANT_ID}/{order_id}?{urlencode(query)}"


def primary_rgb(template_name: str) -> str:
    """A template's primary colour as getComputedStyle writes it: `rgb(183, 28, 28)`."""
    color = BrandingTemplate.objects.get(merchant__merchant_id=MERCHANT_ID, name=template_name)
    red, green, blue = (int(color.primary_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def header_background(page) -> str:
    return page.eval_on_selector("header.brand-header", "e => getComputedStyle(e).backgroundColor")


def assert_customer_sees_order_1001(page) -> None:
    assert page.locator("h1").inner_text() == "Order FDC-1001"
    headings = page.locator("article.shipment h2").all_inner_texts()
    assert len(headings) == 2
    assert headings[0].startswith("Package 1 of 2")
    assert headings[1].startswith("Package 2 of 2")
    logos = page.locator("img.carrier-logo")
    assert logos.count() == 2
    for logo in logos.all():
        assert (logo.get_attribute("alt") or "").strip(), "a carrier logo without alt text"
    still_to_ship = page.get_by_role("region", name="Still to ship")
    assert still_to_ship.locator("li").all_inner_texts() == ["Cake stand × 1"]
    steps = page.locator("article.shipment").first.locator("ol.progress li")
    assert steps.count() >= 3
    for step in steps.all():
        assert step.is_visible()


def assert_nothing_private(page) -> None:
    text, html = page.locator("body").inner_text(), page.content()
    for private in ("jane@example.com", "1 Main St", "Jane Doe"):
        assert private not in text
        assert private not in html


def test_desktop_shows_the_split_order_what_is_left_to_ship_and_nothing_private(
    open_page, screenshot_path
):
    page = open_page(order_path())

    assert_customer_sees_order_1001(page)
    assert_nothing_private(page)
    assert header_background(page) == primary_rgb("FDC_TEMPLATE")
    for logo in page.locator("img.carrier-logo").all():
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0"), "a broken logo"
    page.screenshot(path=screenshot_path("desktop-FDC_TEMPLATE-en.png"), full_page=True)


def test_phone_has_no_horizontal_scrolling_and_shows_the_progress_steps(open_page, screenshot_path):
    page = open_page(order_path(), **PHONE)

    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for step in page.locator("ol.progress li").all():
        assert step.is_visible()
        box = step.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert_customer_sees_order_1001(page)
    page.screenshot(path=screenshot_path("phone-FDC_TEMPLATE-en.png"), full_page=True)


def test_the_second_branding_colours_the_header_with_its_own_primary_colour(
    open_page, screenshot_path
):
    page = open_page(order_path(templateName="NEWTEMPLATE"), **PHONE)

    colour = header_background(page)
    assert colour == primary_rgb("NEWTEMPLATE")
    assert colour != primary_rgb("FDC_TEMPLATE")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=screenshot_path("phone-NEWTEMPLATE-en.png"), full_page=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_lang_parameter_sets_the_page_language(open_page, screenshot_path, lang):
    page = open_page(order_path(templateName="NEWTEMPLATE", lang=lang))

    assert page.get_attribute("html", "lang") == lang
    assert page.locator("article.shipment").count() == 2
    page.screenshot(path=screenshot_path(f"desktop-NEWTEMPLATE-{lang}.png"), full_page=True)


def catalogue(lang: str) -> gettext.GNUTranslations:
    mo = Path(settings.LOCALE_PATHS[0]) / to_locale(lang) / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as file:
        return gettext.GNUTranslations(file)


@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_the_headings_are_translated(open_page, lang):
    translations = catalogue(lang)
    still_to_ship = translations.gettext("Still to ship")
    order_title = translations.gettext("Order %(order)s") % {"order": "FDC-1001"}
    assert still_to_ship != "Still to ship", f"'Still to ship' is not translated in {lang}"

    page = open_page(order_path(lang=lang))

    assert page.locator("#awaiting-title").inner_text() == still_to_ship
    assert page.locator("h1").inner_text() == order_title


def test_tab_reaches_the_skip_link_first_then_the_first_packages_tracking_link(open_page, demo):
    # The demo's sandbox packages have no carrier page, hence no link: ship one with UPS.
    create_order_with_ups_package("FDC-2001")
    page = open_page(order_path("FDC-2001"))

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const a = document.activeElement;
            const card = a.closest('article.shipment');
            return {tag: a.tagName, href: a.href, inTrackingNumber: !!a.closest('.tracking-number'),
                    card: card && [...document.querySelectorAll('article.shipment')].indexOf(card)};
        }"""
    )
    assert focused == {
        "tag": "A",
        "href": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "inTrackingNumber": True,
        "card": 0,
    }


def create_order_with_ups_package(order_id: str) -> None:
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    create_order(merchant, order_id)
    ship(merchant, order_id, "1Z999AA10123456784", ("MUG", 2), carrier="ups")


def test_without_javascript_the_server_rendered_page_shows_everything(open_page):
    page = open_page(order_path(), javascript=False)

    assert_customer_sees_order_1001(page)
    assert_nothing_private(page)
    assert header_background(page) == primary_rgb("FDC_TEMPLATE")


def test_with_verify_the_customer_on_the_right_postal_code_opens_the_order(open_page):
    # given a merchant that asks who you are, and its bare (unsigned) link
    Merchant.objects.filter(merchant_id=MERCHANT_ID).update(verify_customer=True)
    page = open_page(order_path())
    assert page.locator("#verify-title").inner_text() == "Confirm it is your order"

    # when the customer types the order's postal code and submits the form
    page.fill("#answer", "78701")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show my order").click()

    # then Chromium's post passes the CSRF check and the whole order shows
    assert navigation.value.status == 200
    assert page.locator("#verify-title").count() == 0
    assert_customer_sees_order_1001(page)
    assert_nothing_private(page)


def test_the_customer_checks_for_updates_and_sees_the_carriers_news(open_page, settings):
    # given: a package shipped 25 minutes ago that no one has asked the carrier about yet
    settings.SANDBOX_MINUTES_PER_STEP = 10
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    order = create_order(merchant, "FDC-3001")
    shipment = ship(merchant, "FDC-3001", "SBXDELIVERED30010001", ("MUG", 1)).instance
    Shipment.objects.filter(pk=shipment.pk).update(
        created_at=timezone.now() - timedelta(minutes=25)
    )
    link = urlsplit(tracking_page_url(order))
    page = open_page(f"{link.path}?{link.query}", javascript=False)
    heading = page.locator("article.shipment h2")
    assert heading.inner_text() == "Waiting for the carrier's first scan"

    # when the customer presses the button (no JavaScript needed)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Check for updates").click()

    # then the page comes back, on that package, with what the carrier said
    assert navigation.value.status == 200
    assert page.url.endswith("#package-SBXDELIVERED30010001")
    assert page.locator("article.shipment h2").inner_text() == "In transit"
    assert page.locator(".check-updates .checked").inner_text().startswith("Last checked at")


def test_a_mistyped_link_leads_to_the_order_through_the_lookup_form(open_page):
    # given a link with the order number mistyped, on a phone
    page = open_page(f"/orders/{MERCHANT_ID}/FDC-1010", status=404, **PHONE)
    assert page.locator("header.brand-header").is_visible()  # the merchant's page, not ours
    assert "We could not find order FDC-1010" in page.locator("[role=alert]").inner_text()
    order_field = page.get_by_label("Order number")
    assert order_field.input_value() == "FDC-1010"
    for control in (order_field, page.get_by_role("button", name="Show my order")):
        assert control.bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # when the customer corrects it and gives the order's email
    order_field.fill("FDC-1001")
    page.get_by_label("Email or postal code").fill("jane@example.com")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Show my order").click()

    # then the order's own signed page opens
    assert navigation.value.status == 200
    assert "t=" in page.url
    assert_customer_sees_order_1001(page)


def test_a_customer_with_an_address_problem_has_big_buttons_to_reach_the_merchant(
    open_page, screenshot_path
):
    # given a package the carrier could not deliver for the address
    merchant = Merchant.objects.get(merchant_id=MERCHANT_ID)
    order = create_order(merchant, "FDC-4001")
    shipment = ship(merchant, "FDC-4001", "SBXEXCEPTION40010001", ("MUG", 1)).instance
    problem = CarrierEvent(
        occurred_at=timezone.now() - timedelta(hours=1), status="exception",
        status_detail="address_issue", event_type="EXCEPTION", description="Address problem",
        location=Location("Austin", "TX", "", "US"),
    )  # fmt: skip
    shipment_apply_events(shipment_id=shipment.pk, events=[problem], source="poll")
    link = urlsplit(tracking_page_url(order))
    # when the customer opens the page on a phone
    page = open_page(f"{link.path}?{link.query}", **PHONE)
    # then the problem box offers the merchant, worded for the problem, in thumb-sized buttons
    box = page.locator(".banner.warning")
    write = box.get_by_role("link", name="Contact Fred's Discount City about the address")
    call = box.get_by_role("link", name="Call +1 512 555 0100")
    assert write.get_attribute("href").startswith("mailto:help@fredsdiscountcity.example?subject=")
    footer_buttons = page.locator("footer .contact-actions .button").all()
    assert len(footer_buttons) >= 2
    for button in (write, call, *footer_buttons):
        size = button.bounding_box()
        assert size["height"] >= 44 and size["x"] >= 0 and size["x"] + size["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=screenshot_path("phone-address-problem-en.png"), full_page=True)


def test_arabic_reads_right_to_left_with_the_layout_mirrored(open_page, screenshot_path):
    page = open_page(order_path(lang="ar"), **PHONE)

    assert page.get_attribute("html", "dir") == "rtl"
    still_to_ship = catalogue("ar").gettext("Still to ship")
    assert still_to_ship != "Still to ship"
    assert page.locator("#awaiting-title").inner_text() == still_to_ship
    history = page.locator("ol.timeline").first
    right = history.evaluate("e => getComputedStyle(e).borderRightWidth")
    left = history.evaluate("e => getComputedStyle(e).borderLeftWidth")
    assert (right, left) == ("2px", "0px")  # the history's line runs down the right side
    first_step = page.locator("ol.progress li").first.bounding_box()
    last_step = page.locator("ol.progress li").last.bounding_box()
    assert first_step["x"] > last_step["x"]  # the progress line starts on the right
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=screenshot_path("phone-FDC_TEMPLATE-ar.png"), full_page=True)
