import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from PIL import Image

from merchants.models import ApiKey, BrandingTemplate, NotificationRule
from merchants.services import (
    api_key_authenticate,
    api_key_issue,
    api_key_revoke,
    branding_template_save,
    logo_reencode,
    merchant_create,
    sanitize_rich_text,
)

pytestmark = pytest.mark.django_db


def test_a_new_merchant_notifies_customers_on_tracking_md_defaults_and_of_problems():
    # when
    merchant = merchant_create(merchant_id="ABC-01-00001", name="Abc")
    # then
    email_triggers = set(
        NotificationRule.objects.filter(merchant=merchant, channel="email").values_list(
            "trigger", flat=True
        )
    )
    assert email_triggers == {
        "pre_transit", "in_transit", "out_for_delivery", "available_for_pickup", "delivered",
        "failed_attempt", "exception", "return_to_sender", "cancelled",
    }  # fmt: skip


def test_merchant_create_refuses_a_malformed_merchant_id():
    with pytest.raises(ValidationError) as error:
        merchant_create(merchant_id="abc-1-1", name="Abc")
    assert "merchant_id" in error.value.message_dict


def test_an_issued_key_is_stored_only_as_its_hash_and_authenticates(merchant):
    # when
    api_key, raw_key = api_key_issue(merchant=merchant, name="oms")
    # then
    assert raw_key.startswith("ftk_") and len(raw_key) >= 40
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw_key not in (stored.hashed_key, stored.prefix)
    assert stored.prefix == raw_key[:12]
    assert api_key_authenticate(raw_key).merchant == merchant


def test_a_wrong_or_revoked_key_does_not_authenticate(merchant):
    # given
    api_key, raw_key = api_key_issue(merchant=merchant)
    # when
    api_key_revoke(api_key=api_key)
    # then
    assert api_key_authenticate(raw_key) is None
    assert api_key_authenticate(raw_key[:-1] + "x") is None
    assert api_key_authenticate("") is None


def test_a_key_of_an_inactive_merchant_does_not_authenticate(merchant):
    # given
    _api_key, raw_key = api_key_issue(merchant=merchant)
    merchant.is_active = False
    merchant.save()
    # then
    assert api_key_authenticate(raw_key) is None


def test_last_used_at_is_recorded_at_most_once_a_minute(merchant):
    # given
    api_key, raw_key = api_key_issue(merchant=merchant)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api_key_authenticate(raw_key)
    # when: used again 30 s later, then 2 minutes later
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        api_key_authenticate(raw_key)
    api_key.refresh_from_db()
    assert api_key.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        api_key_authenticate(raw_key)
    # then
    api_key.refresh_from_db()
    assert api_key.last_used_at == start + timedelta(minutes=2)


def test_saving_a_default_template_takes_the_default_from_the_previous_one(merchant):
    # given
    first = branding_template_save(template=BrandingTemplate(merchant=merchant, name="A"))
    # when
    second = branding_template_save(
        template=BrandingTemplate(merchant=merchant, name="B", is_default=True)
    )
    # then
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_a_merchants_first_template_becomes_its_default(merchant):
    template = branding_template_save(template=BrandingTemplate(merchant=merchant, name="A"))
    assert template.is_default is True


def test_merchant_text_loses_scripts_styles_and_unsafe_links():
    # given
    html = (
        '<p onclick="x()">Hi <b>there</b><script>alert(1)</script>'
        '<a href="javascript:alert(1)">bad</a> <a href="https://ok.example">ok</a>'
        '<span style="position:fixed">s</span><img src=x onerror=alert(1)></p>'
    )
    # when
    clean = sanitize_rich_text(html)
    # then
    assert clean == (
        '<p>Hi <b>there</b><a rel="noopener noreferrer nofollow">bad</a> '
        '<a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a><span>s</span></p>'
    )


def _image_bytes(fmt: str, size=(1200, 300)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#B71C1C").save(buffer, format=fmt)
    return buffer.getvalue()


def test_an_uploaded_logo_is_reencoded_to_a_bounded_png():
    # when
    png = logo_reencode(_image_bytes("JPEG"))
    # then
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (600, 150)


@pytest.mark.parametrize("data", [b"<svg onload=alert(1)>", b"", b"GIF89a not really"])
def test_a_logo_that_is_not_an_image_is_refused(data):
    with pytest.raises(ValidationError, match="must be a PNG, JPEG, GIF or WebP"):
        logo_reencode(data)
