"""Searching orders. The console's one search box: whatever the customer gave — order ID, tracking
number (spaces or not), email, phone in any format, name, postal code — ranked, across the
merchants the user sees. And the API's `search` (API.md): order ID, tracking number, email, phone
or name, within one merchant.

Each kind of identifier is one small query that an index answers (btree for exact values;
on PostgreSQL trigram indexes for "contains" and a full-text index for names, migrations
orders/0004 and 0014): the console merges the hits by rank, the API takes their union. On SQLite
the same queries run as LIKE scans.

Names are compared without accents or case through `customer_name_search`, which the services
keep (`name_folded`): a stored column rather than an `unaccent()` index expression, so SQLite finds
exactly what PostgreSQL finds and the query stays a plain column lookup its indexes answer.
Phones are compared on the digits of their international form (`phone_digits`).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper

from carriers.detection import normalize_tracking_number
from merchants.models import Merchant
from orders.models import Order, Shipment
from orders.selectors import order_queryset_with_details, orders_visible_to

PER_KIND_LIMIT = 50
MIN_PHONE_DIGITS = 7


@dataclass(frozen=True, slots=True)
class SearchHit:
    order: Order
    matched: str  # what matched, for the agent: "tracking number", "email" …


# Higher first. An exact identifier beats a partial one; names and postal codes come last.
RANKS = {
    "order ID": 100, "tracking number": 95, "email": 90, "phone": 80, "order ID (part)": 70,
    "name": 50, "name (part)": 40, "postal code": 30,
}  # fmt: skip


# What the API's `search` matches (API.md): identifiers (an order ID's part too) and names, not
# postal codes.
API_KINDS = {"order ID", "order ID (part)", "tracking number", "email", "phone", "name",
             "name (part)"}  # fmt: skip


def orders_search(user: AbstractBaseUser, query: str, *, limit: int = 25) -> list[SearchHit]:
    """The user's best matches, highest rank then newest first; never another merchant's."""
    query = _cleaned(query)
    if not query:
        return []
    orders = orders_visible_to(user)
    best: dict[int, str] = {}
    for kind, matching in _candidates(orders, query):
        for order_id in _newest_ids(matching):
            if order_id not in best or RANKS[kind] > RANKS[best[order_id]]:
                best[order_id] = kind
    found = Order.objects.select_related("merchant").in_bulk(list(best))
    ranked = sorted(
        found.values(), key=lambda order: (-RANKS[best[order.pk]], -order.created_at.timestamp())
    )
    return [SearchHit(order, best[order.pk]) for order in ranked[:limit]]


def order_list(
    merchant: Merchant, *, search: str = "", status: str = "", updated_after: datetime | None = None
) -> QuerySet[Order]:
    """API.md's list filters, newest updates first. `search` is the union of the API_KINDS
    queries, each answered by its index, as the console's are (an OR of them in one WHERE, across
    a join to shipments, read every order of the merchant: ~1 s on 1,000,000 orders)."""
    orders = order_queryset_with_details(merchant).order_by("-updated_at", "-pk")
    if status:
        orders = orders.filter(status=status)
    if updated_after:
        orders = orders.filter(updated_at__gt=updated_after)
    if search := _cleaned(search):
        kinds = _candidates(Order.objects.filter(merchant=merchant), search)
        pks = [matching.order_by().values("pk") for kind, matching in kinds if kind in API_KINDS]
        orders = orders.filter(pk__in=pks[0].union(*pks[1:]))  # "order ID" is always one
    return orders


def name_folded(text: str) -> str:
    """ "María  LÓPEZ" → "maria lopez": what search compares names on (accents, case and repeated
    spaces do not count)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def _cleaned(query: str) -> str:
    return " ".join(query.split())[:200]


def _newest_ids(matching: QuerySet[Order]) -> list[int]:
    return list(matching.order_by("-created_at").values_list("pk", flat=True)[:PER_KIND_LIMIT])


def _candidates(orders: QuerySet[Order], query: str):
    """(kind, the orders it matches) for each kind of identifier the query could be."""
    bare = query.lstrip("#")  # "1001" finds Shopify's "#1001", and "#1001" an OMS's "1001"
    yield "order ID", orders.filter(order_id__in={query, bare, f"#{bare}"})
    compact = normalize_tracking_number(query)
    if len(compact) >= 8 and compact.isalnum():
        shipped = Shipment.objects.filter(tracking_number=compact, order__isnull=False)
        yield "tracking number", orders.filter(pk__in=shipped.values("order_id"))
    if "@" in query:
        yield "email", orders.filter(customer_email=query.lower())
    digits = re.sub(r"\D", "", query)
    if len(digits) >= MIN_PHONE_DIGITS and not re.search(r"[A-Za-z@]", query):
        yield "phone", orders.filter(customer_phone_digits__endswith=_phone_suffix(digits))
    if len(query) >= 3:
        yield "order ID (part)", (orders.annotate(upper_id=Upper("order_id"))
                                  .filter(upper_id__contains=query.upper()))  # fmt: skip
    if re.search(r"[^\W\d_]{2}", query):
        folded = name_folded(query)
        yield "name", orders.filter(_name_has_every_word(folded))
        if len(query) >= 3:
            yield "name (part)", orders.filter(customer_name_search__contains=folded)
    if len(query) <= 10 and re.search(r"\d", query):
        yield "postal code", orders.filter(_postal_code_is(query))


def _phone_suffix(digits: str) -> str:
    """The end that every way of writing a number shares with its stored international form:
    without a leading 00 or trunk 0 ("06 12 34 56 78" → "612345678" of "33612345678"), at most
    its last 10 digits ("+1 (512) 555-0100" and "512.555.0100" are the same phone)."""
    return digits.lstrip("0")[-10:] or digits


def _name_has_every_word(folded: str) -> Q | RawSQL:
    """Every word of the (folded) query is a word of the name, in any order ("doe jane")."""
    if connection.vendor == "postgresql":
        return RawSQL(
            "to_tsvector('simple', customer_name_search) @@ plainto_tsquery('simple', %s)",
            [folded],
            output_field=BooleanField(),
        )
    words = Q()
    for word in folded.split():
        words &= Q(customer_name_search__regex=rf"(^|\W){re.escape(word)}(\W|$)")
    return words


def _postal_code_is(query: str) -> Q:
    """ "K1A 0B1", "k1a0b1": postal codes compared without case and with or without the space."""
    compact = query.replace(" ", "").upper()
    variants = {query.upper(), compact}
    if len(compact) == 6:  # Canada and the UK write a space before the last three characters
        variants.add(f"{compact[:3]} {compact[3:]}")
    return Q(postal_code__in=variants)
