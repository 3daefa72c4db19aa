import pytest
from django.db import DataError, IntegrityError, transaction

from merchants.models import BrandingTemplate, Merchant
from merchants.tests.factories import BrandingTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("merchant_id", ["fdc-01-12345", "FDC0112345", "FDC-1-12345", ""])
def test_database_refuses_a_malformed_merchant_id(merchant_id):
    with pytest.raises(IntegrityError), transaction.atomic():
        Merchant.objects.create(merchant_id=merchant_id, name="Bad")
    assert not Merchant.objects.exists()


def test_database_refuses_two_templates_with_one_name(merchant):
    # given
    BrandingTemplateFactory(merchant=merchant, name="FDC_TEMPLATE")
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        BrandingTemplateFactory(merchant=merchant, name="FDC_TEMPLATE")


def test_database_refuses_two_default_templates(merchant):
    # given
    BrandingTemplateFactory(merchant=merchant, is_default=True)
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        BrandingTemplateFactory(merchant=merchant, is_default=True)
    assert BrandingTemplate.objects.filter(merchant=merchant, is_default=True).count() == 1


@pytest.mark.parametrize("colour", ["red", "#FFF", "#GGGGGG", "#1234567", "expression(alert(1))"])
def test_database_refuses_a_colour_that_is_not_six_digit_hex(merchant, colour):
    # PostgreSQL refuses an over-long value as DataError before the check constraint runs.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        BrandingTemplateFactory(merchant=merchant, primary_color=colour)
