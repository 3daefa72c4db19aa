"""A customer without a working link: an unknown order's page in the merchant's branding with the
lookup form, the merchant's own "find your order" page, and our plain 404 for the rest."""

import re

import pytest
from django.utils.html import escape

from orders.tests.factories import create_order, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(merchant):
    order = create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    return order


def _lookup(merchant) -> str:
    return f"/orders/{merchant.merchant_id}/"


def _comparable(response, order_id: str) -> tuple[int, str]:
    html = re.sub(r'nonce="[^"]+"', "nonce", response.content.decode())
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)
    return response.status_code, html.replace(order_id, "ID")


def test_an_unknown_order_is_the_merchants_page_with_the_lookup_form(client, merchant):
    # when
    response = client.get(f"/orders/{merchant.merchant_id}/1010")
    # then
    html = response.content.decode()
    assert response.status_code == 404
    assert escape(merchant.name) in html and 'class="brand-header"' in html
    assert "We could not find order 1010." in html
    assert f'action="{_lookup(merchant)}"' in html
    assert 'name="order" type="text" required maxlength="100" value="1010"' in html
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_another_merchants_order_looks_exactly_like_an_unknown_one(
    client, merchant, other_merchant
):
    # given
    create_order(other_merchant, "1001")
    # when
    theirs = client.get(f"/orders/{merchant.merchant_id}/1001")
    unknown = client.get(f"/orders/{merchant.merchant_id}/9999")
    # then
    assert _comparable(theirs, "1001") == _comparable(unknown, "9999")
    assert theirs.status_code == 404


def test_an_unknown_merchant_gets_our_plain_page_not_found(client, order):
    # when
    response = client.get("/orders/NOP-01-00000/1001")
    # then
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html and "copied whole" in html
    assert "brand-header" not in html and "Not Found</h1>" not in html


@pytest.mark.parametrize("answer", ["jane@example.com", " JANE@example.com ", "78701"])
def test_the_lookup_form_leads_to_the_orders_signed_page(client, merchant, order, answer):
    # given the merchant's "find your order" page
    form = client.get(_lookup(merchant))
    assert form.status_code == 200
    assert '<h1 id="page-title">Find your order</h1>' in form.content.decode()
    # when
    response = client.post(_lookup(merchant), {"order": "1001", "answer": answer})
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(f"/orders/{merchant.merchant_id}/1001?t=")
    page = client.get(response["Location"]).content.decode()
    assert "SBXDELIVERED0001" in page


def test_a_wrong_answer_and_an_unknown_order_get_the_same_answer(
    client, merchant, other_merchant, order
):
    # given
    create_order(other_merchant, "2002")
    # when
    wrong = client.post(_lookup(merchant), {"order": "1001", "answer": "nobody@example.com"})
    unknown = client.post(_lookup(merchant), {"order": "9999", "answer": "jane@example.com"})
    theirs = client.post(_lookup(merchant), {"order": "2002", "answer": "jane@example.com"})
    # then
    assert _comparable(wrong, "1001") == _comparable(unknown, "9999")
    assert _comparable(theirs, "2002") == _comparable(unknown, "9999")
    assert wrong.status_code == 403
    html = wrong.content.decode()
    assert "We could not find an order with that number and email address" in html
    assert "SBXDELIVERED0001" not in html


def test_lookups_are_guesses_and_share_the_guess_budget(client, merchant, order, settings):
    # given
    settings.PAGE_MISSES_PER_MINUTE = 2
    guess = {"order": "1001", "answer": "00000"}
    # when
    statuses = [client.post(_lookup(merchant), guess).status_code for _ in range(3)]
    right = client.post(_lookup(merchant), {"order": "1001", "answer": "78701"})
    # then
    assert statuses == [403, 403, 429]
    assert right.status_code == 429  # even the right answer waits: no brute force


def test_the_gates_form_is_the_lookup_form_and_the_number_typed_wins(client, merchant):
    # given a merchant who verifies customers, and two orders
    merchant.verify_customer = True
    merchant.save()
    create_order(merchant, "1001")
    create_order(merchant, "1002")
    gate = client.get(f"/orders/{merchant.merchant_id}/1001").content.decode()
    assert 'name="order" type="text" required maxlength="100" value="1001"' in gate
    # when the customer corrects the number in the gate's form
    response = client.post(
        f"/orders/{merchant.merchant_id}/1001", {"order": "1002", "answer": "78701"}
    )
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(f"/orders/{merchant.merchant_id}/1002?t=")


def test_a_lookup_for_an_unknown_merchant_is_our_plain_404(client):
    assert client.get("/orders/NOP-01-00000/").status_code == 404
    assert client.post("/orders/NOP-01-00000/", {"order": "1", "answer": "x"}).status_code == 404
