"""Issue 25: the customer asks for a return from the page, with plain forms, behind the page's
privacy rules, and follows its status on the (cached) order page."""

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone, translation

from orders.links import tracking_page_token
from orders.models import LineItem, ReturnRequest, ReturnStatus
from orders.services.returns import (
    return_request_approve,
    return_request_label,
    return_request_refuse,
)
from orders.tests.returns import delivered_order, policy_for

pytestmark = pytest.mark.django_db

TRANSLATED = [code for code, _name in django_settings.LANGUAGES if code != "en"]


def _signed(merchant, order_id="1001") -> str:
    return tracking_page_token(merchant.merchant_id, order_id)


def _form(client, merchant, order_id="1001", **params):
    params.setdefault("t", _signed(merchant, order_id))
    return client.get(f"/returns/{merchant.merchant_id}/{order_id}", params)


def _ask(client, merchant, order_id="1001", *, t=None, **fields):
    token = _signed(merchant, order_id) if t is None else t
    return client.post(f"/returns/{merchant.merchant_id}/{order_id}?t={token}", fields)


def _order_page(client, merchant, order_id="1001"):
    return client.get(f"/orders/{merchant.merchant_id}/{order_id}", {"t": _signed(merchant)})


def _mug(order) -> str:
    return f"quantity-{LineItem.objects.get(order=order, item_id='MUG').pk}"


def test_a_customer_asks_for_a_return_and_sees_it_requested_on_the_order_page(merchant):
    # given a delivered order and a merchant who takes returns
    policy_for(merchant)
    order = delivered_order(merchant)
    client = Client(enforce_csrf_checks=True)
    page = _order_page(client, merchant).content.decode()
    assert "Return or exchange items" in page
    # when the customer opens the form and sends back one mug
    form = _form(client, merchant)
    html = form.content.decode()
    assert form.status_code == 200
    assert f'name="{_mug(order)}"' in html and "Too small" in html and "Arrived damaged" in html
    assert '<option value="2">2</option>' in html and '<option value="3"' not in html
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    answer = _ask(client, merchant, csrfmiddlewaretoken=csrf, reason="too-small",
                  comment="A bit small", **{_mug(order): "1"})  # fmt: skip
    # then the request is made and the order page shows it
    assert answer.status_code == 303
    assert answer["Location"].startswith(f"/orders/{merchant.merchant_id}/1001?t=")
    assert answer["Location"].endswith("#returns")
    request = ReturnRequest.objects.get()
    assert (request.status, request.reason_code, request.customer_comment) == (
        ReturnStatus.REQUESTED, "too-small", "A bit small",
    )  # fmt: skip
    page = client.get(answer["Location"]).content.decode()
    assert "Return requested" in page and "Blue mug × 1" in page and "Reason: Too small" in page


def test_the_order_page_shows_each_new_status_on_the_next_view_though_it_is_cached(
    client, merchant
):
    # given a requested return, its page seen once (and cached)
    policy_for(merchant, shipping_instructions="Drop it at any post office.")
    order = delivered_order(merchant)
    _ask(client, merchant, reason="damaged", **{_mug(order): "2"})
    assert _order_page(client, merchant)["X-Page-Cache"] == "miss"
    assert _order_page(client, merchant)["X-Page-Cache"] == "hit"
    request = ReturnRequest.objects.get()
    # when the merchant approves it, then the next view shows it
    request = return_request_approve(return_request=request)
    page = _order_page(client, merchant).content.decode()
    assert "Return approved" in page and "Drop it at any post office." in page
    # the return tracking number too
    return_request_label(return_request=request, tracking_number="SBXTRANSIT0777",
                         carrier="sandbox", label_url="https://labels.example/777.pdf")  # fmt: skip
    page = _order_page(client, merchant).content.decode()
    assert "SBXTRANSIT0777" in page and "https://labels.example/777.pdf" in page


def test_a_refusal_shows_the_merchants_message(client, merchant):
    policy_for(merchant)
    order = delivered_order(merchant)
    _ask(client, merchant, reason="damaged", **{_mug(order): "1"})
    _order_page(client, merchant)  # cached
    # when
    return_request_refuse(return_request=ReturnRequest.objects.get(), message="Worn items")
    # then
    page = _order_page(client, merchant).content.decode()
    assert "Return refused" in page and "Worn items" in page


def test_nothing_chosen_is_said_in_the_form_not_a_500(client, merchant):
    policy_for(merchant)
    order = delivered_order(merchant)
    answer = _ask(client, merchant, reason="damaged", **{_mug(order): "0"})
    assert answer.status_code == 422
    assert "Choose at least one item to return." in answer.content.decode()
    assert not ReturnRequest.objects.exists()


def test_a_second_request_for_the_same_units_is_refused_in_the_form(client, merchant):
    # given the customer's two tabs on the form: one sends both mugs
    policy_for(merchant)
    order = delivered_order(merchant)
    _ask(client, merchant, reason="damaged", **{_mug(order): "2"})
    # when the other sends one more
    answer = _ask(client, merchant, reason="damaged", **{_mug(order): "1"})
    # then
    html = answer.content.decode()
    assert answer.status_code == 422
    assert "Every delivered Blue mug is already in a return request." in html
    assert 'class="field-error"' in html
    assert ReturnRequest.objects.count() == 1


def test_outside_the_window_the_form_says_so_and_a_request_is_refused(client, merchant):
    # given an order delivered 40 days ago, a 30-day window
    policy_for(merchant, window_days=30)
    order = delivered_order(merchant, at=timezone.now() - timedelta(days=40))
    # then the page offers no return and the form says why
    assert "Return or exchange items" not in _order_page(client, merchant).content.decode()
    html = _form(client, merchant).content.decode()
    assert "Nothing in this order can be returned now." in html
    assert "The return window has closed." in html
    # and a post anyway is refused with the same words
    answer = _ask(client, merchant, reason="damaged", **{_mug(order): "1"})
    assert answer.status_code == 422
    assert "The return window for Blue mug has closed." in answer.content.decode()


def test_an_exchange_is_asked_with_its_variant_in_the_pages_language(client, merchant):
    policy_for(merchant)
    order = delivered_order(merchant)
    html = _form(client, merchant, lang="fr").content.decode()
    assert "Trop petit" in html and 'name="exchange_variant"' in html
    _ask(client, merchant, reason="too-small", exchange_variant="Large mug",
         **{_mug(order): "1"})  # fmt: skip
    request = ReturnRequest.objects.get()
    assert request.exchange_variant == "Large mug"
    assert "Exchange for: Large mug" in _order_page(client, merchant).content.decode()


def test_no_exchange_field_when_the_merchant_offers_none(client, merchant):
    policy_for(merchant, exchange_allowed=False)
    delivered_order(merchant)
    assert 'name="exchange_variant"' not in _form(client, merchant).content.decode()


def test_an_unsigned_link_meets_the_gate_when_the_merchant_verifies_customers(client, merchant):
    # given
    merchant.verify_customer = True
    merchant.save()
    policy_for(merchant)
    order = delivered_order(merchant)
    # when: the form without our signature, and a post without it
    form = client.get(f"/returns/{merchant.merchant_id}/1001")
    posted = _ask(client, merchant, t="", reason="damaged", **{_mug(order): "1"})
    # then
    assert "Confirm it is your order" in form.content.decode()
    assert "Blue mug" not in form.content.decode()
    assert posted.status_code == 403 and not ReturnRequest.objects.exists()


def test_another_merchants_order_is_not_found(client, merchant, other_merchant):
    # given an order of the other merchant, signed for it
    policy_for(merchant)
    policy_for(other_merchant)
    order = delivered_order(other_merchant, "2002")
    token = _signed(other_merchant, "2002")
    # when it is asked through the first merchant's address
    form = client.get(f"/returns/{merchant.merchant_id}/2002", {"t": token})
    posted = client.post(f"/returns/{merchant.merchant_id}/2002?t={token}",
                         {"reason": "damaged", _mug(order): "1"})  # fmt: skip
    # then
    assert form.status_code == 404 and posted.status_code == 404
    assert not ReturnRequest.objects.exists()


def test_no_returns_page_when_the_merchant_offers_none(client, merchant):
    delivered_order(merchant)
    assert _form(client, merchant).status_code == 404
    assert "Return or exchange items" not in _order_page(client, merchant).content.decode()


def test_the_form_is_rate_limited_like_the_page(client, merchant, settings):
    policy_for(merchant)
    delivered_order(merchant)
    settings.PAGE_VIEWS_PER_MINUTE = 2
    assert [_form(client, merchant).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_form_speaks_every_page_language(client, merchant, language):
    policy_for(merchant)
    delivered_order(merchant)
    html = _form(client, merchant, lang=language).content.decode()
    with translation.override(language):
        words = [translation.gettext(w) for w in ("Confirm the return", "Items to send back")]
    assert all(word in html for word in words)
    assert "Confirm the return" not in html and "Items to send back" not in html
