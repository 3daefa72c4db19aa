"""The onboarding console as staff and merchant users use it, through real admin requests."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from merchants.models import ApiKey, BrandingTemplate, Merchant
from merchants.services import api_key_authenticate, api_key_issue
from merchants.tests.factories import BrandingTemplateFactory, member_of
from orders.tests.factories import create_order
from tracking.models import CarrierAccount

pytestmark = pytest.mark.django_db


def test_staff_onboard_a_merchant_from_the_console(staff_client):
    # when
    response = staff_client.post(
        reverse("admin:merchants_merchant_add"),
        {
            "merchant_id": "NEW-07-00042", "name": "New Shop", "is_active": "on",
            "time_zone": "America/Chicago", "locale": "en", "email_notifications_enabled": "on",
            "tracking_link_lifetime_days": "180", **_empty_inlines(),
        },
    )  # fmt: skip
    # then
    assert response.status_code == 302
    merchant = Merchant.objects.get(merchant_id="NEW-07-00042")
    emailed = merchant.notification_rules.filter(channel="email").values_list("trigger", flat=True)
    assert sorted(emailed) == [
        "available_for_pickup", "cancelled", "delivered", "exception", "failed_attempt",
        "in_transit", "out_for_delivery", "pre_transit", "return_to_sender",
    ]  # fmt: skip


@pytest.mark.parametrize("merchant_id", ["new-07-00042", "NEW0700042", "NEW-7-42"])
def test_the_console_explains_a_malformed_merchant_id(staff_client, merchant_id):
    response = staff_client.post(
        reverse("admin:merchants_merchant_add"),
        {"merchant_id": merchant_id, "name": "New", "time_zone": "UTC", "locale": "en",
         **_empty_inlines()},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Use the form ABC-01-12345" in response.content.decode()
    assert not Merchant.objects.exists()


def test_staff_choose_which_statuses_email_customers(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:merchants_merchant_change", args=[merchant.pk]),
        {"name": merchant.name, "is_active": "on", "time_zone": "UTC", "locale": "en",
         "email_notifications_enabled": "on", "email_triggers": ["delivered", "exception"],
         "sms_triggers": ["out_for_delivery"], "tracking_link_lifetime_days": "180",
         **_empty_inlines()},
    )  # fmt: skip
    # then
    assert response.status_code == 302
    rules = set(merchant.notification_rules.values_list("channel", "trigger"))
    assert rules == {("email", "delivered"), ("email", "exception"), ("sms", "out_for_delivery")}


def _merchant_form(merchant, **overrides) -> dict[str, str]:
    return {"name": merchant.name, "is_active": "on", "time_zone": "UTC", "locale": "en",
            "tracking_link_lifetime_days": "180", **_empty_inlines(), **overrides}  # fmt: skip


def test_staff_set_how_long_tracking_links_open_the_page_directly(staff_client, merchant):
    # given the default lifetime, shown on the form with the other customer-facing settings
    change = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    form = staff_client.get(change).content.decode()
    assert 'name="tracking_link_lifetime_days" value="180"' in form
    # when
    response = staff_client.post(
        change, _merchant_form(merchant, verify_customer="on", tracking_link_lifetime_days="30")
    )
    # then
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.verify_customer, merchant.tracking_link_lifetime_days) == (True, 30)


@pytest.mark.parametrize("days", ["0", "3651", "-5"])
def test_a_tracking_link_lifetime_out_of_range_is_refused(staff_client, merchant, days):
    # when
    response = staff_client.post(
        reverse("admin:merchants_merchant_change", args=[merchant.pk]),
        _merchant_form(merchant, tracking_link_lifetime_days=days),
    )
    # then
    assert response.status_code == 200  # the form is shown again with the error
    assert 'id="id_tracking_link_lifetime_days"' in response.content.decode()
    assert response.context["adminform"].form.errors["tracking_link_lifetime_days"]
    merchant.refresh_from_db()
    assert merchant.tracking_link_lifetime_days == 180


def test_a_new_api_key_is_shown_once_then_only_by_prefix(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:merchants_apikey_add"),
        {"merchant": merchant.pk, "name": "oms", "style": "native"},
    )
    # then: the key is on the page once, authenticates, and never appears again
    page = response.content.decode()
    api_key = ApiKey.objects.get(merchant=merchant, name="oms")
    raw_key = page.split('id="api-key"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert api_key_authenticate(raw_key) == api_key
    listing = staff_client.get(reverse("admin:merchants_apikey_changelist")).content.decode()
    detail = staff_client.get(
        reverse("admin:merchants_apikey_change", args=[api_key.pk])
    ).content.decode()
    assert api_key.prefix in listing
    assert raw_key not in listing and raw_key not in detail


def test_a_carrier_secret_is_write_only_and_kept_when_left_blank(staff_client, merchant):
    values = {"merchant": merchant.pk, "carrier": "ups", "client_id": "fdc-ups",
              "base_url": "", "requests_per_minute": 60, "is_active": "on"}  # fmt: skip
    missing = staff_client.post(reverse("admin:tracking_carrieraccount_add"), values)
    staff_client.post(
        reverse("admin:tracking_carrieraccount_add"), {**values, "secret": "ups-s3cret"}
    )
    account = CarrierAccount.objects.get()
    change = reverse("admin:tracking_carrieraccount_change", args=[account.pk])
    # when: the page is opened and saved again without typing the secret
    page = staff_client.get(change).content.decode()
    staff_client.post(change, {**values, "requests_per_minute": 30})
    # then: required at first, never shown back, and still stored
    assert "Required: the carrier asks for it on every call." in missing.content.decode()
    assert "ups-s3cret" not in page
    account.refresh_from_db()
    assert (account.secret, account.requests_per_minute) == ("ups-s3cret", 30)


def test_a_revoked_key_stops_working_at_once(staff_client, merchant):
    # given
    api_key, raw_key = api_key_issue(merchant=merchant)
    # when
    staff_client.post(
        reverse("admin:merchants_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
    )
    # then
    assert api_key_authenticate(raw_key) is None


def _png(colour="#B71C1C") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 400), colour).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "logo.png"
    return buffer


def _template_form(merchant, **overrides):
    form = {
        "merchant": merchant.pk, "name": "FDC_TEMPLATE", "is_default": "on",
        "primary_color": "#B71C1C", "accent_color": "#1565C0", "background_color": "#FFFFFF",
        "text_color": "#1A1A1A", "font": "helvetica",
        "header_text": "<b>Fred's</b><script>alert(1)</script>", "footer_text": "",
        "show_items": "on", "show_timeline": "on", "show_estimated_delivery": "on",
        "show_support": "on",
    }  # fmt: skip
    form.update(overrides)
    return form


def test_staff_create_a_branding_template_with_a_logo_and_preview_it(staff_client, merchant):
    # when
    response = staff_client.post(
        reverse("admin:merchants_brandingtemplate_add"), _template_form(merchant, logo_file=_png())
    )
    # then
    assert response.status_code == 302
    template = BrandingTemplate.objects.get(merchant=merchant, name="FDC_TEMPLATE")
    assert template.header_text == "<b>Fred's</b>"
    logo = staff_client.get(reverse("branding_logo", args=[template.pk]))
    assert logo["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(logo.content)) as image:
        assert image.size == (400, 200)
    preview = staff_client.get(reverse("branding_template_preview", args=[template.pk]))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "--header-bg:#B71C1C" in html and "DEMO-1001" in html  # demo data: no orders yet


def test_the_preview_uses_the_merchants_newest_order_when_it_has_one(staff_client, merchant):
    # given
    template = BrandingTemplateFactory(merchant=merchant)
    create_order(merchant, "ORDER-77")
    # when
    html = staff_client.get(reverse("branding_template_preview", args=[template.pk])).content
    # then
    assert b"ORDER-77" in html and b"DEMO-1001" not in html


@pytest.mark.parametrize("colour", ["red", "#FFF", "#12345G"])
def test_the_console_refuses_a_colour_that_is_not_hex(staff_client, merchant, colour):
    response = staff_client.post(
        reverse("admin:merchants_brandingtemplate_add"),
        _template_form(merchant, primary_color=colour),
    )
    assert response.status_code == 200
    assert "Use a hex colour such as #1A2B3C." in response.content.decode()
    assert not BrandingTemplate.objects.exists()


def test_a_logo_address_must_be_https(staff_client, merchant):
    response = staff_client.post(
        reverse("admin:merchants_brandingtemplate_add"),
        _template_form(merchant, logo_url="http://insecure.example/logo.png"),
    )
    assert "must start with https://" in response.content.decode()


def _empty_inlines() -> dict[str, str]:
    form = {}
    for prefix in ("delivery_providers", "pickup_locations", "memberships"):
        form |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return form


# --- A merchant user sees only their own merchant -------------------------------------------


@pytest.fixture
def fred_client(client, merchant):
    client.force_login(member_of(merchant, "admin"))
    return client


@pytest.fixture
def other_rows(other_merchant):
    template = BrandingTemplateFactory(merchant=other_merchant, name="SECRET_TEMPLATE")
    api_key, _raw = api_key_issue(merchant=other_merchant, name="other-oms")
    order = create_order(other_merchant, "OTHER-ORDER-9")
    return {"template": template, "api_key": api_key, "order": order}


@pytest.mark.parametrize(
    ("changelist", "mine", "theirs"),
    [
        ("admin:merchants_merchant_changelist", "FDC-01-12345", "OTH-02-54321"),
        ("admin:merchants_brandingtemplate_changelist", "MY_TEMPLATE", "SECRET_TEMPLATE"),
        ("admin:merchants_apikey_changelist", "my-oms", "other-oms"),
        ("admin:orders_order_changelist", "MY-ORDER-1", "OTHER-ORDER-9"),
    ],
)
def test_a_merchant_user_sees_only_their_merchants_rows(
    fred_client, merchant, other_rows, changelist, mine, theirs
):
    # given
    BrandingTemplateFactory(merchant=merchant, name="MY_TEMPLATE")
    api_key_issue(merchant=merchant, name="my-oms")
    create_order(merchant, "MY-ORDER-1")
    # when
    response = fred_client.get(reverse(changelist))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert mine in html
    assert theirs not in html and "Other Shop" not in html


@pytest.mark.parametrize(
    ("url_name", "row"),
    [
        ("admin:merchants_brandingtemplate_change", "template"),
        ("admin:merchants_apikey_change", "api_key"),
        ("admin:orders_order_change", "order"),
    ],
)
def test_a_merchant_user_cannot_open_another_merchants_row(fred_client, other_rows, url_name, row):
    # when
    response = fred_client.get(reverse(url_name, args=[other_rows[row].pk]), follow=True)
    # then: Django's "does not exist" answer, with nothing of the row
    assert "doesn’t exist" in response.content.decode()
    assert str(other_rows[row]) not in response.content.decode()


def test_a_merchant_user_cannot_preview_another_merchants_template(fred_client, other_rows):
    response = fred_client.get(
        reverse("branding_template_preview", args=[other_rows["template"].pk])
    )
    assert response.status_code == 404


def test_a_merchant_user_cannot_add_a_merchant_or_pick_another_merchant(
    fred_client, merchant, other_merchant
):
    # when
    add_merchant = fred_client.get(reverse("admin:merchants_merchant_add"))
    add_template = fred_client.get(reverse("admin:merchants_brandingtemplate_add"))
    forged = fred_client.post(
        reverse("admin:merchants_brandingtemplate_add"),
        _template_form(other_merchant, name="FORGED"),
    )
    # then
    assert add_merchant.status_code == 403
    assert "Other Shop" not in add_template.content.decode()
    assert forged.status_code == 200  # the form is re-shown with an error
    assert not BrandingTemplate.objects.filter(name="FORGED").exists()


def test_a_customer_service_agent_can_look_but_not_change(client, merchant):
    # given
    client.force_login(member_of(merchant, "agent"))
    template = BrandingTemplateFactory(merchant=merchant)
    # when
    listing = client.get(reverse("admin:merchants_brandingtemplate_changelist"))
    change = client.post(
        reverse("admin:merchants_brandingtemplate_change", args=[template.pk]),
        _template_form(merchant, name="RENAMED"),
    )
    # then
    assert listing.status_code == 200
    assert change.status_code == 403
    template.refresh_from_db()
    assert template.name != "RENAMED"


def test_memberships_are_managed_by_flexengage_staff_only(fred_client):
    assert fred_client.get(reverse("admin:merchants_membership_changelist")).status_code == 403
