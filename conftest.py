"""Fixtures shared by every app's tests."""

import pytest

from merchants.tests.factories import MerchantFactory


@pytest.fixture
def merchant(db):
    return MerchantFactory(merchant_id="FDC-01-12345", name="Fred's Discount City")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(merchant_id="OTH-02-54321", name="Other Shop")
