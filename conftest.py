"""Fixtures shared by every app's tests."""

import json
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from merchants.services import api_key_issue
from merchants.tests.factories import MerchantFactory
from tests.network import FakeDns

pytest_plugins = ["tests.ci_skips", "tests.pooled"]


@pytest.fixture
def merchant(db):
    return MerchantFactory(merchant_id="FDC-01-12345", name="Fred's Discount City")


@pytest.fixture
def staff(db):
    """A flexEngage staff member (a superuser sees and acts on every merchant)."""
    return get_user_model().objects.create_superuser("staff", "staff@flexengage.example", "pw")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(merchant_id="OTH-02-54321", name="Other Shop")


class ApiCaller:
    """The Django test client speaking to the API as an OMS would, with a merchant's key."""

    def __init__(self, client, raw_key: str):
        self.client = client
        self.raw_key = raw_key

    def _headers(self, headers: dict) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw_key}", **headers}

    def post(self, path: str, body=None, *, raw: bytes | None = None, **headers):
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            path, data, content_type="application/json", **self._headers(headers)
        )

    def get(self, path: str, params=None, **headers):
        return self.client.get(path, params or {}, **self._headers(headers))


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # rate-limit counters must not leak between tests


@pytest.fixture(autouse=True)
def _customer_messages_unmerged(settings):
    """Customer messages are sent at once: the tests that merge them set the window themselves
    (notifications/tests/test_split_orders.py)."""
    settings.CUSTOMER_MESSAGE_MERGE_SECONDS = 0


@pytest.fixture
def api(client, merchant):
    _api_key, raw_key = api_key_issue(merchant=merchant, name="oms")
    return ApiCaller(client, raw_key)


@pytest.fixture
def other_api(client, other_merchant):
    _api_key, raw_key = api_key_issue(merchant=other_merchant, name="oms")
    return ApiCaller(client, raw_key)


@pytest.fixture
def fake_dns(monkeypatch):
    """fake_dns(answers={}, others_public=True) -> the FakeDns installed: DNS faked at the process
    boundary (tests/network.py)."""

    def install(
        answers: dict[str, str | list[str]] | None = None, *, others_public: bool = True
    ) -> FakeDns:
        dns = FakeDns({} if answers is None else answers, others_public=others_public)
        monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
        return dns

    return install
