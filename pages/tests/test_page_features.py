"""The customer page beyond its content: verification, limits, headers, banners, time zones,
the PDF, and the tracker and group pages."""

import io
import logging
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import signing
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from carriers.events import CarrierEvent, Location
from merchants.tests.factories import BrandingTemplateFactory
from orders.links import tracking_page_pdf_url, tracking_page_url
from orders.models import Order, Shipment
from orders.tests.factories import create_order, ship
from tracking.services import shipment_apply_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(merchant):
    order = create_order(merchant, "1001", order_date=datetime(2026, 11, 20, 15, 4, tzinfo=UTC))
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    return order


def _url(merchant, order_id="1001", **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/orders/{merchant.merchant_id}/{order_id}" + (f"?{query}" if query else "")


# --- Verify the customer -----


@pytest.fixture
def verifying(merchant):
    merchant.verify_customer = True
    merchant.save()
    return merchant


def test_a_bare_link_asks_who_you_are_and_shows_nothing_of_the_order(client, verifying, order):
    # when
    response = client.get(_url(verifying))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Confirm it is your order" in html and '<h1 id="page-title">Order 1001</h1>' in html
    for shown_once_verified in ("SBXDELIVERED0001", "Delivered", "In this package", "Still to ship",
                                "Austin", "Placed on", "This link has expired"):  # fmt: skip
        assert shown_once_verified not in html


def _comparable(response, order_id: str) -> tuple[int, str, str]:
    """A response with what differs on every request (nonce, CSRF token) and the id blanked."""
    html = re.sub(r'nonce="[^"]+"', "nonce", response.content.decode())
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)
    return response.status_code, response["Content-Type"], html.replace(order_id, "ID")


def _queries(run, order_id: str) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = run()
    return response, [query["sql"].replace(order_id, "ID") for query in queries]


def test_with_the_gate_a_guessed_order_id_looks_exactly_like_an_unknown_one(
    client, verifying, order
):
    # when the same visitor opens an existing order's bare link and an unknown one
    known, known_sql = _queries(lambda: client.get(_url(verifying, "1001")), "1001")
    unknown, unknown_sql = _queries(lambda: client.get(_url(verifying, "9999")), "9999")
    # then same status, same body, and the same queries, none of which reads an order
    assert _comparable(known, "1001") == _comparable(unknown, "9999")
    assert known.status_code == 200
    assert known_sql == unknown_sql
    assert not [sql for sql in known_sql if "orders_" in sql]


def test_with_the_gate_a_wrong_answer_looks_exactly_like_any_answer_for_an_unknown_order(
    client, verifying, order
):
    # when
    known, known_sql = _queries(
        lambda: client.post(_url(verifying, "1001"), {"answer": "99999"}), "1001"
    )
    unknown, unknown_sql = _queries(
        lambda: client.post(_url(verifying, "9999"), {"answer": "78701"}), "9999"
    )
    # then
    assert _comparable(known, "1001") == _comparable(unknown, "9999")
    assert known.status_code == 403
    assert "That does not match this order" in known.content.decode()
    assert "SBXDELIVERED0001" not in known.content.decode()
    assert len(known_sql) == len(unknown_sql) == 3  # merchant, the order's answers, templates
    assert known_sql == unknown_sql


def test_with_the_gate_the_pdf_needs_the_signature_too(client, verifying, order):
    # when
    bare = client.get(_url(verifying, "1001.pdf"))
    unknown = client.get(_url(verifying, "9999.pdf"))
    signed = client.get(_path(tracking_page_pdf_url(Order.objects.get(pk=order.pk))))
    # then
    assert _comparable(bare, "1001") == _comparable(unknown, "9999")
    assert (bare.status_code, bare["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert "Confirm it is your order" in bare.content.decode()
    assert (signed.status_code, signed["Content-Type"]) == (200, "application/pdf")


def _path(link: str) -> str:
    return link.removeprefix("http://127.0.0.1:8000")


def _link_made_on(order, moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        return _path(tracking_page_url(Order.objects.get(pk=order.pk)))


def _open_on(client, link: str, moment: datetime) -> str:
    with time_machine.travel(moment, tick=False):
        response = client.get(link)
    assert response.status_code == 200
    return response.content.decode()


def test_a_signed_link_opens_for_the_merchants_lifetime_then_asks_who_you_are(
    client, verifying, order
):
    # given a link sent on 1 January; the default lifetime is 180 days
    link = _link_made_on(order, datetime(2026, 1, 1, 9, tzinfo=UTC))
    # when
    last_day = _open_on(client, link, datetime(2026, 6, 30, 23, 59, tzinfo=UTC))
    expired = _open_on(client, link, datetime(2026, 7, 1, 0, 1, tzinfo=UTC))
    # then
    assert verifying.tracking_link_lifetime_days == 180
    assert "Still to ship" in last_day and "Confirm it is your order" not in last_day
    assert "This link has expired." in expired and "Confirm it is your order" in expired
    assert "SBXDELIVERED0001" not in expired and "Still to ship" not in expired


def test_an_expired_link_opens_again_once_the_customer_confirms_the_postal_code(
    client, verifying, order
):
    # given
    link = _link_made_on(order, datetime(2026, 1, 1, 9, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 8, 1, 9, tzinfo=UTC), tick=False):
        # when
        answer = client.post(link, {"answer": "78701"})
        opened = client.get(answer["Location"]).content.decode()
    # then
    assert answer.status_code == 302 and answer["Location"] != link
    assert "Still to ship" in opened and "This link has expired." not in opened


def test_a_shorter_lifetime_ends_the_links_already_sent(client, verifying, order):
    # given a link sent 31 days ago, then the merchant shortens the lifetime to 30 days
    link = _link_made_on(order, datetime(2026, 1, 1, 9, tzinfo=UTC))
    verifying.tracking_link_lifetime_days = 30
    verifying.save()
    # when
    day_30 = _open_on(client, link, datetime(2026, 1, 31, 9, tzinfo=UTC))
    day_31 = _open_on(client, link, datetime(2026, 2, 1, 9, tzinfo=UTC))
    # then
    assert "Still to ship" in day_30
    assert "This link has expired." in day_31 and "Still to ship" not in day_31


def test_a_link_signed_before_links_had_a_lifetime_asks_who_you_are(client, verifying, order):
    # given the signature our links carried before, which never expired
    old = signing.Signer(salt="flextracker.tracking-page").signature("FDC-01-12345\n1001")
    # when
    html = client.get(_url(verifying, t=old)).content.decode()
    # then
    assert "Confirm it is your order" in html and "Still to ship" not in html


def test_merchant_a_s_signed_link_does_not_open_merchant_b_s_order_of_the_same_id(
    client, verifying, order, other_merchant
):
    # given both merchants verify customers and both have an order 1001
    other_merchant.verify_customer = True
    other_merchant.save()
    create_order(
        other_merchant,
        "1001",
        customer_email="bob@example.com",
        shipping_address={"city": "New York", "postal_code": "10001", "country_code": "US"},
    )
    token = tracking_page_url(Order.objects.get(pk=order.pk)).split("?t=")[1]
    # when A's token and A's customer's postal code are tried on B's order
    with_token = client.get(_url(other_merchant, t=token))
    with_answer = client.post(_url(other_merchant), {"answer": "78701"})
    # then
    assert "Confirm it is your order" in with_token.content.decode()
    assert "Tea towel" not in with_token.content.decode()
    assert with_answer.status_code == 403


def test_the_right_email_or_postal_code_opens_the_page(client, verifying, order):
    for answer in ("JANE@example.com", " 78701 "):
        response = client.post(_url(verifying), {"answer": answer})
        assert response.status_code == 302
        opened = client.get(response["Location"]).content.decode()
        assert "Still to ship" in opened and "Confirm it is your order" not in opened


@pytest.mark.parametrize("written", ["%231001", "1001"])
def test_a_shopify_order_named_with_a_hash_opens_once_the_customer_confirms(
    client, verifying, written
):
    # given: Shopify's order "#1001", and a link to it written encoded or with the number alone
    create_order(verifying, "#1001")
    # when
    answer = client.post(_url(verifying, written), {"answer": "78701"})
    opened = client.get(answer["Location"])
    # then: back to the order's own address (never "#1001" read as a fragment), now signed
    assert answer.status_code == 302
    assert answer["Location"].startswith("/orders/FDC-01-12345/%231001?t=")
    assert opened.status_code == 200
    assert "Confirm it is your order" not in opened.content.decode()


def test_a_wrong_answer_is_refused_and_guessing_is_limited(client, verifying, order, settings):
    settings.PAGE_MISSES_PER_MINUTE = 3
    answers = [client.post(_url(verifying), {"answer": f"guess{n}@x.com"}) for n in range(4)]
    assert [r.status_code for r in answers] == [403, 403, 403, 429]
    assert "That does not match this order" in answers[0].content.decode()


def test_our_own_signed_links_open_directly(client, verifying, order):
    link = tracking_page_url(Order.objects.get(pk=order.pk))
    html = client.get(link.removeprefix("http://127.0.0.1:8000")).content.decode()
    assert "Still to ship" in html and "Confirm it is your order" not in html


def test_a_token_for_another_order_does_not_open_this_one(client, verifying, order, merchant):
    create_order(merchant, "2002")
    other = tracking_page_url(Order.objects.get(order_id="2002")).split("?t=")[1]
    html = client.get(_url(verifying, t=other)).content.decode()
    assert "Confirm it is your order" in html


# --- Limits and headers -----


def test_guessing_order_numbers_is_rate_limited_per_visitor(client, merchant, order, settings):
    settings.PAGE_MISSES_PER_MINUTE = 3
    statuses = [client.get(_url(merchant, f"guess-{n}")).status_code for n in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    elsewhere = client.get(_url(merchant, "guess-9"), REMOTE_ADDR="10.9.9.9")
    assert elsewhere.status_code == 404


def test_without_the_gate_unsigned_lookups_found_or_not_share_the_guess_budget(
    client, merchant, order, settings
):
    # given
    settings.PAGE_MISSES_PER_MINUTE = 3
    signed = _path(tracking_page_url(Order.objects.get(pk=order.pk)))
    # when someone walks order ids, hitting 1001 in between
    walk = ["1001", "guess-1", "1001", "guess-2", "1001"]
    statuses = [client.get(_url(merchant, order_id)).status_code for order_id in walk]
    # then
    assert statuses == [200, 404, 200, 429, 429]
    assert client.get(signed).status_code == 200  # our signed links are not guesses


def test_without_the_gate_an_expired_link_still_shows_the_page(client, merchant, order):
    # given
    link = _link_made_on(order, datetime(2026, 1, 1, 9, tzinfo=UTC))
    # when
    html = _open_on(client, link, datetime(2027, 1, 1, 9, tzinfo=UTC))
    # then
    assert "Still to ship" in html and "Confirm it is your order" not in html


def test_too_many_views_from_one_visitor_are_slowed(client, merchant, order, settings):
    settings.PAGE_VIEWS_PER_MINUTE = 2
    statuses = [client.get(_url(merchant)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_page_sends_a_strict_content_security_policy_with_its_style_nonce(
    client, merchant, order
):
    response = client.get(_url(merchant))
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" not in response.content.decode()
    assert (response["Referrer-Policy"], response["X-Robots-Tag"]) == (
        "same-origin",
        "noindex, nofollow",
    )


def test_merchant_colours_that_would_be_unreadable_are_made_readable(client, merchant, order):
    BrandingTemplateFactory(
        merchant=merchant,
        name="PALE",
        primary_color="#FFFF66",
        background_color="#FFFFFF",
        text_color="#EEEEEE",
        is_default=True,
    )
    html = client.get(_url(merchant)).content.decode()
    assert "--header-fg:#000000" in html and "--text:#" in html
    assert "--text:#EEEEEE" not in html


# --- What it says -----


def _scan(shipment, when, status, detail, description="", city="Dallas"):
    event = CarrierEvent(
        occurred_at=when,
        status=status,
        status_detail=detail,
        event_type="EXCEPTION" if status == "exception" else "TRANSIT",
        description=description,
        location=Location(city, "TX", "", "US"),
    )
    shipment_apply_events(shipment_id=shipment.pk, events=[event], source="poll")


def test_an_exception_says_what_happened_and_what_to_do(client, merchant, order):
    shipment = Shipment.objects.get()
    _scan(shipment, datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "exception", "address_issue")
    html = client.get(_url(merchant)).content.decode()
    assert "The carrier could not find the delivery address." in html
    assert "Contact Fred&#x27;s Discount City and they will sort it out." in html


def test_a_problem_the_merchant_must_solve_has_buttons_to_reach_them(client, merchant, order):
    # given a merchant with an email and a phone, and an address problem
    merchant.support_email, merchant.support_phone = "help@fred.example", "+1 512 555 0100"
    merchant.save()
    shipment = Shipment.objects.get()
    _scan(shipment, datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "exception", "address_issue")
    # when
    html = client.get(_url(merchant)).content.decode()
    # then the problem box has a mailto worded for the problem, its subject naming the package
    banner = html[html.index('class="banner warning"') : html.index("</div>", html.index(
        'class="banner warning"'))]  # fmt: skip
    assert (
        '<a class="button" href="mailto:help@fred.example?subject=Order%201001%2C%20package%20'
        'SBXDELIVERED0001">Contact Fred&#x27;s Discount City about the address</a>'
    ) in banner
    assert '<a class="button secondary" href="tel:+1 512 555 0100">Call +1 512 555 0100</a>' in (
        banner
    )


def test_no_contact_button_when_nothing_is_asked_of_the_merchant_or_support_is_hidden(
    client, merchant, order
):
    merchant.support_email = "help@fred.example"
    merchant.save()
    shipment = Shipment.objects.get()
    _scan(shipment, datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "exception", "weather_delay")
    weather = client.get(_url(merchant)).content.decode()
    assert "Bad weather is slowing deliveries." in weather
    assert "about the" not in weather and "mailto:help@fred.example?subject" not in weather
    _scan(shipment, datetime(2026, 11, 21, 16, 0, tzinfo=UTC), "exception", "damaged")
    BrandingTemplateFactory(merchant=merchant, name="QUIET", show_support=False, is_default=True)
    hidden = client.get(_url(merchant)).content.decode()
    assert "The package was damaged on the way." in hidden
    assert "mailto:" not in hidden


def test_the_history_is_grouped_by_day_in_the_local_time_zone(client, merchant, order):
    merchant.time_zone = "America/Chicago"
    merchant.save()
    shipment = Shipment.objects.get()
    for when, detail in (
        (datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "departed_facility"),  # 9 a.m. in Chicago
        (datetime(2026, 11, 22, 3, 30, tzinfo=UTC), "arrived_at_facility"),  # 9:30 p.m. the 21st
        (datetime(2026, 11, 22, 15, 0, tzinfo=UTC), "out_for_delivery"),
    ):
        _scan(shipment, when, "in_transit", detail)
    html = client.get(_url(merchant)).content.decode()
    days = re.findall(r'<li class="day"><h4><time datetime="([\d-]+)">([^<]+)</time></h4>'
                      r"<ol>(.*?)</ol></li>", html, re.S)  # fmt: skip
    shown = [(day, title, re.findall(r'<time datetime="[^"]+">([^<]+)</time>', rows))
             for day, title, rows in days]  # fmt: skip
    assert shown == [("2026-11-22", "Nov. 22, 2026", ["9 a.m."]),
                     ("2026-11-21", "Nov. 21, 2026", ["9:30 p.m.", "9 a.m."])]  # fmt: skip


# --- The PDF -----


def _pdf(client, merchant, **params):
    response = client.get(_url(merchant, "1001.pdf", **params))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content))


def test_the_pdf_holds_the_same_content(client, merchant, order):
    text = "".join(page.extract_text() for page in _pdf(client, merchant).pages).replace(" ", "")
    for expected in ("Order 1001", "SBXDELIVERED0001", "Still to ship", "Tea towel × 1"):
        assert expected.replace(" ", "") in text  # kerning may split words when extracted
    assert "jane@example.com" not in text


def test_the_pdf_is_letter_for_north_america_and_a4_on_request(client, merchant, order):
    letter = _pdf(client, merchant).pages[0].mediabox
    a4 = _pdf(client, merchant, paper="a4").pages[0].mediabox
    assert (round(letter.width), round(letter.height)) == (612, 792)
    assert (round(a4.width), round(a4.height)) == (595, 842)


def test_the_pdf_of_another_merchants_order_is_not_found(client, other_merchant, order):
    assert client.get(_url(other_merchant, "1001.pdf")).status_code == 404


@pytest.fixture
def production_static(settings, tmp_path):
    """Static files as a release serves them: collected under hashed names (DEBUG off)."""
    settings.STATIC_ROOT = tmp_path
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)


def _font_sizes(page) -> dict[str, float]:
    sizes = {}

    def visit(text, cm, tm, font, size):
        sizes.setdefault(text.strip(), round(size * tm[3] * cm[3], 1))

    page.extract_text(visitor_text=visit)
    return sizes


def test_the_pdf_has_its_stylesheet_and_carrier_logo_with_hashed_static_names(
    client, merchant, order, production_static, caplog
):
    # given static files collected by manifest storage (css/tracking.<hash>.css …)
    caplog.set_level(logging.ERROR, logger="weasyprint")

    # when the customer downloads the PDF
    page = _pdf(client, merchant).pages[0]

    # then every file loaded: the print rules of tracking.css set 10 pt, the logo is drawn
    assert [record.getMessage() for record in caplog.records] == []
    assert _font_sizes(page)["Tracking number SBXDELIVERED0001"] == 10.0
    assert list(page["/Resources"]["/XObject"]) == ["/x0"]


# --- Trackers and groups -----


def test_a_tracker_page_and_a_group_page(api, client, merchant):
    for n in (1, 2):
        api.post(
            "/api/v1/trackers",
            {
                "trackerExternalId": f"T-{n}",
                "carrier": "sandbox",
                "trackingNumber": f"SBXDELIVERED{n}",
                "groupId": "BASKET-7",
            },
        )
        shipment = Shipment.objects.get(tracking_number=f"SBXDELIVERED{n}")
        when = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
        _scan(shipment, when, "in_transit", "departed_facility", city=("Memphis", "Denver")[n - 1])
    tracker = client.get(f"/trackers/{merchant.merchant_id}/T-1").content.decode()
    group = client.get(f"/groups/{merchant.merchant_id}/BASKET-7").content.decode()
    assert "Delivery T-1" in tracker and "SBXDELIVERED1" in tracker
    assert "Memphis, TX, US" in tracker and "Denver" not in tracker  # its own history only
    assert "SBXDELIVERED1" in group and "SBXDELIVERED2" in group and "Package 2 of 2" in group
    assert "Memphis, TX, US" in group and "Denver, TX, US" in group
    assert client.get(f"/trackers/{merchant.merchant_id}/T-9").status_code == 404
    assert client.get(f"/groups/{merchant.merchant_id}/nope").status_code == 404


def test_another_merchants_tracker_is_not_found(api, client, other_merchant):
    api.post(
        "/api/v1/trackers",
        {"trackerExternalId": "T-1", "carrier": "sandbox", "trackingNumber": "SBXDELIVERED1"},
    )
    assert client.get(f"/trackers/{other_merchant.merchant_id}/T-1").status_code == 404
