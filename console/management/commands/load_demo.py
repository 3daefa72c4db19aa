"""The demo merchant "Fred's Discount City": run it as often as you like (it converges).

It lives in the tracking app because it uses every app (tracking is the one that may import all
the others)."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from merchants.models import BrandingTemplate, MembershipRole, Merchant
from merchants.services import (
    api_key_issue,
    api_key_revoke,
    branding_template_save,
    membership_grant,
    merchant_create,
)
from orders.services import (
    ItemQuantity,
    LineItemInput,
    OrderInput,
    ShipmentInput,
    items_backorder,
    order_cancel,
    order_create_or_update,
    shipment_confirm,
)
from tracking.polling import poll_due_shipments

MERCHANT_ID = "FDC-01-12345"
DEMO_KEY_NAME = "demo"

TEMPLATES = {
    "FDC_TEMPLATE": {
        "is_default": True,
        "primary_color": "#B71C1C",
        "accent_color": "#1565C0",
        "font": "helvetica",
        "header_text": "Big savings, <strong>fast shipping</strong>.",
        "footer_text": 'Thanks for shopping with Fred! <a href="https://example.com/returns">Returns</a>',
    },
    "NEWTEMPLATE": {
        "is_default": False,
        "primary_color": "#004D40",
        "accent_color": "#F9A825",
        "background_color": "#FAFAF5",
        "font": "georgia",
        "header_text": "<em>Fred's</em> — now with a fresh new look.",
        "footer_text": "Fred's Discount City, 500 Commerce Blvd, Austin TX",
    },
}

CUSTOMER = {"customer_name": "Jane Doe", "customer_email": "jane@example.com"}
ADDRESS = {"street1": "1 Main St", "city": "Austin", "state": "TX", "postal_code": "78701",
           "country_code": "US"}  # fmt: skip


def _item(item_id: str, name: str, quantity: int, price: str) -> LineItemInput:
    return LineItemInput(item_id=item_id, name=name, quantity=quantity, price=Decimal(price))


class Command(BaseCommand):
    help = "Loads the demo merchant, its templates, logins, an API key and orders on the sandbox."

    def handle(self, *args, **options):
        with transaction.atomic():
            merchant = self._merchant()
            self._templates(merchant)
            logins = self._logins(merchant)
            raw_key = self._api_key(merchant)
            order_ids = self._orders(merchant)
        poll_due_shipments()  # the sandbox's first scan, so the demo opens on "Label created"
        self._print(logins, raw_key, order_ids)

    def _merchant(self) -> Merchant:
        merchant = Merchant.objects.filter(merchant_id=MERCHANT_ID).first()
        merchant = merchant or merchant_create(
            merchant_id=MERCHANT_ID,
            name="Fred's Discount City",
            time_zone="America/Chicago",
            support_email="help@fredsdiscountcity.example",
            support_phone="+1 512 555 0100",
        )
        merchant.alert_emails = "alerts@fredsdiscountcity.example"  # staff alerts in the demo
        merchant.save(update_fields=["alert_emails", "updated_at"])
        return merchant

    def _templates(self, merchant: Merchant) -> None:
        for name, values in TEMPLATES.items():
            template = BrandingTemplate.objects.filter(merchant=merchant, name=name).first()
            template = template or BrandingTemplate(merchant=merchant, name=name)
            for field, value in values.items():
                setattr(template, field, value)
            branding_template_save(template=template)

    def _logins(self, merchant: Merchant) -> list[tuple[str, str, str]]:
        """A flexEngage superuser and a merchant admin, with fresh passwords printed each run."""
        user_model = get_user_model()
        logins = []
        for username, role in (("admin", None), ("fred", MembershipRole.ADMIN)):
            user, _created = user_model.objects.get_or_create(username=username)
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = True
            user.is_superuser = role is None
            user.save()
            if role:
                membership_grant(user=user, merchant=merchant, role=role)
            logins.append((username, password, "flexEngage staff" if role is None else role))
        return logins

    def _api_key(self, merchant: Merchant) -> str:
        for old_key in merchant.api_keys.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
            api_key_revoke(api_key=old_key)
        _api_key, raw_key = api_key_issue(merchant=merchant, name=DEMO_KEY_NAME)
        return raw_key

    def _orders(self, merchant: Merchant) -> list[str]:
        now = timezone.now()
        # 1001: split in two packages, one item still to ship.
        order_create_or_update(merchant=merchant, data=OrderInput(
            order_id="FDC-1001", order_date=now - timedelta(days=2), **CUSTOMER,
            shipping_address=ADDRESS, locale="en-US", currency="USD", order_value=Decimal("64.50"),
            line_items=[_item("MUG-BLUE", "Blue mug, 12 oz", 2, "10.00"),
                        _item("TOWEL-RED", "Red tea towel", 1, "6.50"),
                        _item("STAND-CAKE", "Cake stand", 1, "38.00")],
        ))  # fmt: skip
        shipment_confirm(merchant=merchant, order_id="FDC-1001", data=ShipmentInput(
            tracking_number="SBXDELIVERED10010001", carrier="sandbox", service="Sandbox Ground",
            estimated_delivery_date=(now + timedelta(days=3)).date(),
            items=[ItemQuantity("MUG-BLUE", 2)],
        ))  # fmt: skip
        shipment_confirm(merchant=merchant, order_id="FDC-1001", data=ShipmentInput(
            tracking_number="SBXEXCEPTION10010002", carrier="sandbox", service="Sandbox Express",
            estimated_delivery_date=(now + timedelta(days=2)).date(),
            items=[ItemQuantity("TOWEL-RED", 1)],
        ))  # fmt: skip
        # 1002: one package to a pickup point, one item backordered.
        order_create_or_update(merchant=merchant, data=OrderInput(
            order_id="FDC-1002", order_date=now - timedelta(days=1), **CUSTOMER, locale="es-US",
            shipping_address={**ADDRESS, "city": "San Antonio", "postal_code": "78205"},
            line_items=[_item("LAMP-DESK", "Desk lamp", 1, "24.00"),
                        _item("BULB-LED", "LED bulb, 4-pack", 2, "9.00")],
        ))  # fmt: skip
        shipment_confirm(merchant=merchant, order_id="FDC-1002", data=ShipmentInput(
            tracking_number="SBXPICKUP10020001", carrier="sandbox",
            items=[ItemQuantity("LAMP-DESK", 1)],
        ))  # fmt: skip
        items_backorder(merchant=merchant, order_id="FDC-1002", items=[
            ItemQuantity("BULB-LED", 2, expected_date=(now + timedelta(days=10)).date()),
        ])  # fmt: skip
        # 1003: one item cancelled, the rest on its way back to the merchant.
        order_create_or_update(merchant=merchant, data=OrderInput(
            order_id="FDC-1003", order_date=now - timedelta(days=4), **CUSTOMER,
            shipping_address=ADDRESS,
            line_items=[_item("CHAIR-FOLD", "Folding chair", 2, "19.99"),
                        _item("CUSHION", "Seat cushion", 2, "7.99")],
        ))  # fmt: skip
        shipment_confirm(merchant=merchant, order_id="FDC-1003", data=ShipmentInput(
            tracking_number="SBXRETURN10030001", carrier="sandbox",
            items=[ItemQuantity("CHAIR-FOLD", 2)],
        ))  # fmt: skip
        cushion = merchant.orders.get(order_id="FDC-1003").line_items.get(item_id="CUSHION")
        if awaiting := cushion.quantity_awaiting_shipment:
            order_cancel(merchant=merchant, order_id="FDC-1003", reason="out of stock",
                         items=[ItemQuantity("CUSHION", awaiting)])  # fmt: skip
        return ["FDC-1001", "FDC-1002", "FDC-1003"]

    def _print(self, logins, raw_key: str, order_ids: list[str]) -> None:
        base = settings.PUBLIC_BASE_URL
        write = self.stdout.write
        write(self.style.SUCCESS("Demo merchant Fred's Discount City (FDC-01-12345) is ready."))
        write(f"\nStart here: {base}{reverse('landing')}")
        write(f"Console:    {base}{reverse('console:home')}   (customer service)")
        write(f"Admin:      {base}{reverse('admin:index')}   (onboarding and branding)")
        write(f"API docs:   {base}{reverse('api-docs')}")
        write("Logins (console and admin):")
        for username, password, role in logins:
            write(f"  login {username} / {password}   ({role})")
        write("\nAPI key (a new one each run; the previous demo key is revoked):")
        write(f"  {raw_key}")
        write(f"  try: curl -H 'Authorization: Bearer {raw_key}' {base}/api/v1/orders")
        write("\nCustomer tracking pages:")
        for order_id in order_ids:
            path = reverse("order_page", args=[MERCHANT_ID, order_id])
            for template in TEMPLATES:
                write(f"  {base}{path}?templateName={template}")
        lookup = reverse("order_lookup", args=[MERCHANT_ID])
        write(f"Find your order (order number + jane@example.com): {base}{lookup}")
        if settings.EMAIL_BACKEND == "flextracker.mail.EmailFileBackend":
            write(f"\nEmails go to {settings.EMAIL_FILE_PATH}/, one .eml file each.")
