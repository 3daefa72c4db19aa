"""Orders stored before 0014 get their folded name, and their phone's digits read in the order's
country ("06 12 34 56 78" in FR becomes "33612345678"), as the services now store them.

Not atomic: each batch commits on its own, so no lock outlives a batch (one transaction over
every order held 0014's exclusive lock for ~70 s per 100,000 orders). Each batch locks its own
rows while it reads and rewrites them, so a name the API changes meanwhile is not overwritten
with a stale one; readers are never blocked."""

import re
import unicodedata

import phonenumbers
from django.conf import settings
from django.db import migrations, transaction

# Each batch's rows stay locked until it commits: ~1 s for 1,000 orders, mostly rewriting their
# trigram indexes.
BATCH = 1000


# Frozen copies of orders.search.name_folded and orders.services.phone_digits (with
# notifications.channels.sms.e164) as of this migration: later edits to them must not change
# what it does.
def name_folded(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def phone_digits(phone, country_code):
    return re.sub(r"\D", "", _e164(phone, country_code) or phone)


def _e164(phone, region):
    try:
        number = phonenumbers.parse(phone or "", region.upper() or _sender_region())
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _sender_region():
    try:
        sender = phonenumbers.parse(settings.TWILIO_FROM_NUMBER)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(sender)


def normalize_stored_orders(apps, schema_editor):
    order_model = apps.get_model("orders", "Order")
    alias = schema_editor.connection.alias
    last_pk = 0
    while last_pk is not None:
        with transaction.atomic(using=alias):
            last_pk = _normalize_batch(order_model.objects.using(alias), last_pk)


def _normalize_batch(orders, last_pk):
    """The next BATCH orders after `last_pk`; the last pk done, None when there were none."""
    batch = list(
        orders.select_for_update()
        .filter(pk__gt=last_pk)
        .order_by("pk")
        .only("pk", "customer_name", "customer_name_search", "customer_phone", "country_code",
              "customer_phone_digits")[:BATCH]
    )  # fmt: skip
    if not batch:
        return None
    changed = [order for order in batch if _normalized(order)]
    orders.bulk_update(changed, ["customer_name_search", "customer_phone_digits"])
    return batch[-1].pk


def _normalized(order):
    """Whether the order's stored values changed (those the new services wrote already do not)."""
    before = (order.customer_name_search, order.customer_phone_digits)
    order.customer_name_search = name_folded(order.customer_name)
    order.customer_phone_digits = phone_digits(order.customer_phone, order.country_code)
    return (order.customer_name_search, order.customer_phone_digits) != before


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0016_tracker_notifications_muted_at"),
    ]

    operations = [
        migrations.RunPython(normalize_stored_orders, migrations.RunPython.noop),
    ]
