import io
import re

import pytest
from django.core.management import CommandError, call_command

from merchants.models import ApiKey, BrandingTemplate, Merchant
from merchants.services import api_key_authenticate
from orders.models import Order, Shipment

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_merchant_then_a_key_printed_alone_that_authenticates():
    # when
    _run("create_merchant", "FDC-01-12345", "--name", "Fred's Discount City")
    printed = _run("create_api_key", "FDC-01-12345", "--name", "oms")
    # then
    raw_key = printed.strip()
    assert printed == raw_key + "\n"
    api_key = api_key_authenticate(raw_key)
    assert (api_key.merchant.name, api_key.name) == ("Fred's Discount City", "oms")


def test_create_merchant_refuses_a_malformed_id_and_a_duplicate():
    with pytest.raises(CommandError, match="Use the form ABC-01-12345"):
        _run("create_merchant", "fdc-1", "--name", "Fred")
    _run("create_merchant", "FDC-01-12345", "--name", "Fred")
    with pytest.raises(CommandError, match="already exists"):
        _run("create_merchant", "FDC-01-12345", "--name", "Fred")


def test_create_api_key_for_an_unknown_merchant_fails_clearly():
    with pytest.raises(CommandError, match="No merchant NOP-01-00000"):
        _run("create_api_key", "NOP-01-00000")


def test_load_demo_is_idempotent_and_prints_working_logins_key_and_links(client):
    # when
    _run("load_demo")
    printed = _run("load_demo")
    # then: the same demo data, one live demo key
    merchant = Merchant.objects.get(merchant_id="FDC-01-12345")
    assert merchant.name == "Fred's Discount City"
    assert set(BrandingTemplate.objects.values_list("name", "is_default")) == {
        ("FDC_TEMPLATE", True),
        ("NEWTEMPLATE", False),
    }
    assert Order.objects.count() == 3
    assert Shipment.objects.filter(carrier="sandbox").count() == 4
    assert merchant.orders.filter(shipments__isnull=False).distinct().count() == 3
    assert ApiKey.objects.filter(merchant=merchant, revoked_at__isnull=True).count() == 1
    raw_key = re.search(r"ftk_[\w-]+", printed).group(0)
    assert api_key_authenticate(raw_key).merchant == merchant
    username, password = re.search(r"login (admin) / (\S+)", printed).groups()
    assert client.login(username=username, password=password)
    links = re.findall(r"http://\S+/orders/\S+", printed)
    assert len(links) == 7  # six order pages and the "find your order" page
    for link in links:
        assert client.get(link.split("8000", 1)[1]).status_code == 200
