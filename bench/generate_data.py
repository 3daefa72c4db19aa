"""Rows for the generated database (bench/generate.py): orders, line items, shipments, shipment
items, tracking events, cancellations and backorders, written with PostgreSQL COPY in chunks.

Everything is derived from a seed, order by order, so a chunk needs nothing but the counters the
previous chunk left behind. Rows keep the database's rules (counters against shipment items,
quantities within what was ordered) and the services' ones: `customer_phone_digits` by
`phone_digits`, `customer_name_search` by `name_folded`, the order's status by
`order_status_derive`, each event's `dedupe_key` by `event_dedupe_key`, tracking numbers in
each carrier's real shape with a valid check digit.
"""

from __future__ import annotations

import itertools
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from carriers.detection import GS1_MOD10, UPS_MOD10, dhl_mod7, fedex_mod11
from carriers.events import CarrierEvent, Location
from carriers.vocabulary import (
    EXCEPTION_CODE_BY_DETAIL,
    TERMINAL_STATUSES,
    Status,
    event_type_for,
)
from merchants.models import Merchant
from merchants.services import merchant_create
from orders.search import name_folded
from orders.services import order_status_derive, phone_digits
from tracking.services import event_dedupe_key

BIG_MERCHANT = "FDC-01-12345"


def _words(text: str) -> list[str]:
    return text.split()


# (merchant ID, name, country, order-id style); the first holds BIG_SHARE of the orders, the
# others share the rest by a Zipf law, the sandbox demo merchant a sliver.
MERCHANTS = [
    (BIG_MERCHANT, "Fred's Discount City", "US", "fdc"),
    ("MPO-01-10001", "Maple & Pine Outfitters", "US", "w"),
    ("NWB-01-20417", "Northwind Books", "US", "so"),
    ("CCK-02-33120", "Cedar Creek Kitchenware", "US", "num"),
    ("LTH-01-40982", "Lighthouse Home Goods", "US", "w"),
    ("BRV-03-51233", "Bravo Running Co.", "US", "so"),
    ("PXP-01-62001", "Pixel Parade Electronics", "US", "num"),
    ("TNC-01-70090", "True North Cycles", "CA", "w"),
    ("GRN-02-80456", "Green Thumb Garden Supply", "US", "num"),
    ("MAPL-01-11220", "Maple Leaf Apparel", "CA", "so"),
    ("SUN-01-21212", "Sunnyside Pet Supply", "US", "w"),
    ("BLU-04-31415", "Blue Harbor Swimwear", "US", "num"),
    ("OAK-01-41000", "Oak & Anchor Furniture", "US", "so"),
    ("QBC-01-50505", "Café Québec", "CA", "num"),
    ("HRT-01-60606", "Hearthstone Candles", "US", "w"),
    ("TKT-02-70707", "Tiny Tots Toys", "US", "so"),
    ("SPK-01-80808", "Sparkle Beauty", "US", "num"),
    ("ATL-01-90909", "Atlas Outdoor Gear", "US", "w"),
    ("VNY-01-12121", "Vinyl Vault Records", "US", "so"),
    ("DEMO-01-00001", "flexEngage Demo Store", "US", "num"),
]
BIG_SHARE = 0.40
DEMO_SHARE = 0.002

FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy "
    "Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy "
    "Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin "
    "Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra "
    "Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry "
    "Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary "
    "Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn "
    "Christian Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison "
    "Sean Teresa Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice "
    "Bryan Kathryn Lawrence Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy "
    "Grace Joe Amber Alan Alice Juan Jean Elijah Denise Willie Frances Albert Danielle Wayne "
    "Marilyn Randy Natalie Mason Beverly Vincent Diana Liam Brittany Roy Theresa Bobby Kayla "
    "Caleb Alexis Bradley Doris Russell Lori Lucas Tiffany Mathieu Chloé Étienne Amélie Priya "
    "Wei Mei Hiroshi Yuki Aarav Fatima Omar Aisha Mohammed Sofia Diego Camila Luis Valentina"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook "
    "Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez "
    "Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan "
    "Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison "
    "Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker "
    "Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason "
    "Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox "
    "Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan "
    "Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart "
    "Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Ray "
    "Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin Gagné O'Brien O'Connor Singh "
    "Wong Tanaka Sato Kowalski Nowak Müller Rossi Ferrari Dubois Laurent Cohen Levy Ahmed Khan"
)
EMAIL_DOMAINS = (
    ["gmail.com"] * 9 + ["yahoo.com"] * 3 + ["outlook.com"] * 2 + ["hotmail.com"] * 2
    + ["icloud.com"] * 2 + ["aol.com", "comcast.net", "att.net", "msn.com", "protonmail.com"]
)  # fmt: skip
CA_EMAIL_DOMAINS = ["gmail.com"] * 6 + ["hotmail.com", "outlook.com", "shaw.ca", "rogers.com",
                                        "videotron.ca", "sympatico.ca", "yahoo.ca"]  # fmt: skip

# (city, state, ZIP prefix or FSA letters, area codes, weight)
US_CITIES = [
    ("New York", "NY", "100", (212, 646, 917), 8), ("Brooklyn", "NY", "112", (718, 347), 5),
    ("Los Angeles", "CA", "900", (213, 323, 310), 7), ("Chicago", "IL", "606", (312, 773), 6),
    ("Houston", "TX", "770", (713, 281, 832), 5), ("Phoenix", "AZ", "850", (602, 480), 4),
    ("Philadelphia", "PA", "191", (215, 267), 4), ("San Antonio", "TX", "782", (210,), 3),
    ("San Diego", "CA", "921", (619, 858), 3), ("Dallas", "TX", "752", (214, 469, 972), 4),
    ("Austin", "TX", "787", (512, 737), 3), ("Jacksonville", "FL", "322", (904,), 2),
    ("Columbus", "OH", "432", (614,), 2), ("Charlotte", "NC", "282", (704, 980), 2),
    ("Indianapolis", "IN", "462", (317,), 2), ("Seattle", "WA", "981", (206,), 3),
    ("Denver", "CO", "802", (303, 720), 3), ("Boston", "MA", "021", (617, 857), 3),
    ("Nashville", "TN", "372", (615,), 2), ("Detroit", "MI", "482", (313,), 2),
    ("Portland", "OR", "972", (503, 971), 2), ("Las Vegas", "NV", "891", (702,), 2),
    ("Memphis", "TN", "381", (901,), 1), ("Louisville", "KY", "402", (502,), 1),
    ("Baltimore", "MD", "212", (410, 443), 2), ("Milwaukee", "WI", "532", (414,), 1),
    ("Albuquerque", "NM", "871", (505,), 1), ("Tucson", "AZ", "857", (520,), 1),
    ("Atlanta", "GA", "303", (404, 678, 770), 4), ("Miami", "FL", "331", (305, 786), 3),
    ("Minneapolis", "MN", "554", (612,), 2), ("Tampa", "FL", "336", (813,), 2),
    ("Orlando", "FL", "328", (407,), 2), ("Pittsburgh", "PA", "152", (412,), 1),
    ("St. Louis", "MO", "631", (314,), 1), ("Kansas City", "MO", "641", (816,), 1),
    ("Raleigh", "NC", "276", (919,), 1), ("Salt Lake City", "UT", "841", (801, 385), 1),
    ("Boise", "ID", "837", (208,), 1), ("Omaha", "NE", "681", (402,), 1),
    ("Burlington", "VT", "054", (802,), 1), ("Anchorage", "AK", "995", (907,), 1),
    ("Honolulu", "HI", "968", (808,), 1), ("Des Moines", "IA", "503", (515,), 1),
]  # fmt: skip
CA_CITIES = [
    ("Toronto", "ON", "M", (416, 647), 8), ("Montréal", "QC", "H", (514, 438), 6),
    ("Vancouver", "BC", "V", (604, 778), 5), ("Calgary", "AB", "T", (403, 587), 3),
    ("Edmonton", "AB", "T", (780,), 2), ("Ottawa", "ON", "K", (613,), 3),
    ("Winnipeg", "MB", "R", (204,), 2), ("Québec", "QC", "G", (418,), 2),
    ("Halifax", "NS", "B", (902,), 1), ("Mississauga", "ON", "L", (905, 289), 3),
]  # fmt: skip
STREETS = _words(
    "Main Oak Maple Pine Cedar Elm Washington Lake Hill Park Sunset Lincoln Jackson Church "
    "Highland Ridge Meadow Forest River Spring Chestnut Walnut Franklin Madison Cherry Willow "
    "Lakeview Valley Jefferson Adams Mill Center Broadway Union Front Water Market Grove"
)
STREET_TYPES = ["St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Way", "Ct", "Pl", "Ter"]
PHONE_FORMATS = (
    "({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}", "{a}{e}{n}", "+1{a}{e}{n}",
    "{a}.{e}.{n}", "1-{a}-{e}-{n}", "+1 ({a}) {e}-{n}",
)  # fmt: skip

PRODUCT_WORDS = _words(
    "Blue Red Green Black White Grey Navy Olive Coral Ivory Walnut Bamboo Cotton Linen Wool "
    "Ceramic Steel Cast-Iron Glass Leather Canvas Organic Vintage Classic Deluxe Compact "
    "Travel Kids Outdoor"
)
PRODUCTS = [
    ("Mug", 9), ("Tea Towel", 7), ("Throw Pillow", 24), ("Water Bottle", 19), ("Backpack", 59),
    ("Running Shoes", 119), ("T-Shirt", 18), ("Hoodie", 49), ("Socks 3-Pack", 12),
    ("Skillet", 39), ("Chef Knife", 69), ("Cutting Board", 29), ("Blender", 89),
    ("Desk Lamp", 45), ("Bath Towel", 22), ("Duvet Cover", 79), ("Candle", 16),
    ("Notebook", 8), ("Paperback Novel", 15), ("Board Game", 34), ("Puzzle 1000 pc", 21),
    ("Dog Leash", 19), ("Cat Tree", 89), ("Garden Gloves", 14), ("Planter", 27),
    ("Headphones", 99), ("Phone Case", 25), ("USB-C Cable", 12), ("Bluetooth Speaker", 59),
    ("Yoga Mat", 35), ("Bike Helmet", 65), ("Tent 2-Person", 149), ("Sleeping Bag", 89),
    ("Vinyl Record", 28), ("Lipstick", 18), ("Face Serum", 32), ("Swimsuit", 54),
    ("Toy Truck", 22), ("Plush Bear", 17), ("Side Table", 129), ("Rug 5x7", 159),
]  # fmt: skip

CARRIER_SERVICES = {
    "ups": ["UPS Ground", "UPS Ground", "UPS Ground", "UPS 2nd Day Air", "UPS Next Day Air"],
    "fedex": ["FedEx Ground", "FedEx Home Delivery", "FedEx Home Delivery", "FedEx 2Day",
              "FedEx Express Saver"],
    "usps": ["USPS Ground Advantage", "USPS Ground Advantage", "USPS Priority Mail"],
    "dhl": ["DHL Express Worldwide", "DHL Express 12:00"],
    "canada_post": ["Expedited Parcel", "Regular Parcel", "Xpresspost", "Priority"],
    "sandbox": ["Sandbox"],
}  # fmt: skip
US_CARRIERS = [("ups", 36), ("fedex", 27), ("usps", 31), ("dhl", 6)]
CA_CARRIERS = [("canada_post", 60), ("ups", 15), ("fedex", 15), ("dhl", 10)]
HUBS = {
    "ups": [("Louisville", "KY"), ("Hodgkins", "IL"), ("Atlanta", "GA"), ("Dallas", "TX"),
            ("Ontario", "CA"), ("Parsippany", "NJ"), ("Columbia", "SC")],
    "fedex": [("Memphis", "TN"), ("Indianapolis", "IN"), ("Fort Worth", "TX"), ("Oakland", "CA"),
              ("Newark", "NJ"), ("Hagerstown", "MD")],
    "usps": [("Chicago", "IL"), ("Dallas", "TX"), ("Atlanta", "GA"), ("Denver", "CO"),
             ("Jersey City", "NJ"), ("Seattle", "WA"), ("Memphis", "TN")],
    "dhl": [("Cincinnati", "OH"), ("Los Angeles", "CA"), ("New York", "NY"), ("Miami", "FL")],
    "canada_post": [("Mississauga", "ON"), ("Montréal", "QC"), ("Richmond", "BC"),
                    ("Calgary", "AB"), ("Winnipeg", "MB")],
    "sandbox": [("Sandbox City", "SB")],
}  # fmt: skip
WAREHOUSES = {"US": [("Columbus", "OH"), ("Reno", "NV"), ("Allentown", "PA"), ("Dallas", "TX")],
              "CA": [("Mississauga", "ON"), ("Laval", "QC"), ("Delta", "BC")]}  # fmt: skip

# Each step of a journey: (status, status detail, {carrier: (raw code, carrier's text)}).
_TEXTS = {
    "label": ("pre_transit", "label_created", {
        "ups": ("MP", "Shipper created a label, UPS has not received the package yet."),
        "fedex": ("OC", "Shipment information sent to FedEx"),
        "usps": ("GX", "Shipping Label Created, USPS Awaiting Item"),
        "dhl": ("SA", "Shipment information received"),
        "canada_post": ("3000", "Electronic information submitted by shipper"),
    }),
    "pickup": ("in_transit", "picked_up", {
        "ups": ("OR", "Pickup Scan"), "fedex": ("PU", "Picked up"),
        "usps": ("03", "USPS picked up item"), "dhl": ("PU", "Shipment picked up"),
        "canada_post": ("0100", "Item picked up by Canada Post"),
    }),
    "departed": ("in_transit", "departed_facility", {
        "ups": ("DP", "Departed from Facility"), "fedex": ("DP", "Left FedEx origin facility"),
        "usps": ("EF", "Departed USPS Regional Facility"),
        "dhl": ("DF", "Departed Facility in"), "canada_post": ("0173", "Item in transit"),
    }),
    "arrived": ("in_transit", "arrived_at_facility", {
        "ups": ("AR", "Arrived at Facility"), "fedex": ("AR", "Arrived at FedEx hub"),
        "usps": ("10", "Arrived at USPS Regional Facility"),
        "dhl": ("AF", "Arrived at DHL Sort Facility"),
        "canada_post": ("0174", "Item processed"),
    }),
    "ofd": ("out_for_delivery", "out_for_delivery", {
        "ups": ("OT", "Out For Delivery Today"), "fedex": ("OD", "On FedEx vehicle for delivery"),
        "usps": ("OF", "Out for Delivery"), "dhl": ("WC", "With delivery courier"),
        "canada_post": ("0174", "Item out for delivery"),
    }),
    "delivered": ("delivered", "delivered", {
        "ups": ("KB", "Delivered"), "fedex": ("DL", "Delivered"),
        "usps": ("01", "Delivered, In/At Mailbox"), "dhl": ("OK", "Delivered"),
        "canada_post": ("1496", "Item successfully delivered"),
    }),
    "attempt": ("failed_attempt", "recipient_not_available", {
        "ups": ("48", "The receiver was not available for delivery."),
        "fedex": ("DE", "Customer not available or business closed"),
        "usps": ("53", "Notice Left (No Authorized Recipient Available)"),
        "dhl": ("NH", "Delivery attempted; recipient not home"),
        "canada_post": ("1421", "Attempted delivery; notice card left"),
    }),
    "weather": ("exception", "weather_delay", {
        "ups": ("WD", "Severe weather conditions have delayed delivery."),
        "fedex": ("SE", "Delay beyond our control: weather"),
        "usps": ("44", "Delayed: Weather"), "dhl": ("CD", "Delayed due to weather conditions"),
        "canada_post": ("2600", "Delivery delayed due to weather"),
    }),
    "address": ("exception", "address_issue", {
        "ups": ("UA", "The address is incomplete. We're attempting to update it."),
        "fedex": ("DE", "Incorrect address"), "usps": ("21", "No Such Number"),
        "dhl": ("BA", "Bad address"), "canada_post": ("1434", "Incorrect address"),
    }),
    "return": ("return_to_sender", "return_to_sender", {
        "ups": ("RS", "Returned to shipper"), "fedex": ("RS", "Return to shipper"),
        "usps": ("09", "Return to Sender"), "dhl": ("RT", "Returned to shipper"),
        "canada_post": ("1701", "Item being returned to sender"),
    }),
    "ready": ("available_for_pickup", "available_for_pickup", {
        "ups": ("ZW", "Delivered to UPS Access Point and awaiting customer pickup"),
        "fedex": ("HL", "Ready for pickup at FedEx location"),
        "usps": ("14", "Available for Pickup"), "dhl": ("SP", "Ready for collection"),
        "canada_post": ("1414", "Item available for pickup at Post Office"),
    }),
}  # fmt: skip
STEPS = {
    step: (status, detail, event_type_for(status, detail), EXCEPTION_CODE_BY_DETAIL.get(detail, ""),
           texts | {"sandbox": (f"SBX_{step.upper()}", texts["ups"][1])})
    for step, (status, detail, texts) in _TEXTS.items()
}  # fmt: skip
DELIVERED_AT = ["Front Door", "Mailbox", "Porch", "Reception", "Garage", "Side Door"]

ORDER_COLUMNS = (
    "id, merchant_id, order_id, order_date, customer_name, customer_name_search, customer_email, "
    "customer_phone, customer_phone_digits, street1, street2, city, state, postal_code, "
    "country_code, locale, "
    "currency, order_value, attributes, group_id, status, is_placeholder, cancelled_at, "
    "cancel_reason, notifications_muted_at, created_at, updated_at"
)
LINE_ITEM_COLUMNS = (
    "id, order_id, item_id, name, description, image_url, price, position, quantity_ordered, "
    "quantity_shipped, quantity_cancelled, quantity_backordered, backorder_expected_date, "
    "is_returnable, quantity_return_requested, quantity_returned"
)
SHIPMENT_COLUMNS = (
    "id, merchant_id, order_id, carrier, tracking_number, service, shipped_at, "
    "estimated_delivery_date, estimated_delivery_at, status, status_detail, status_description, "
    "delivered_at, is_delayed, origin_city, origin_state, origin_country, destination_city, "
    "destination_state, destination_postal_code, destination_country, last_event_at, "
    "last_update_source, last_checked_at, next_check_at, consecutive_check_failures, "
    "last_error, created_at, updated_at, public_id, source_reference, direction"
)
SHIPMENT_ITEM_COLUMNS = "id, shipment_id, line_item_id, quantity"
EVENT_COLUMNS = (
    "id, shipment_id, occurred_at, status, status_detail, event_type, description, city, "
    "state, postal_code, country, exception_code, recipient, signature_url, source, raw_code, "
    "raw_description, raw, dedupe_key, created_at"
)
CANCELLATION_COLUMNS = "id, line_item_id, quantity, reason, created_at"
BACKORDER_COLUMNS = "id, line_item_id, quantity, expected_date, created_at"
TABLES = {  # table → COPY column list, in the order rows are written
    "orders_order": ORDER_COLUMNS,
    "orders_lineitem": LINE_ITEM_COLUMNS,
    "orders_shipment": SHIPMENT_COLUMNS,
    "orders_shipmentitem": SHIPMENT_ITEM_COLUMNS,
    "tracking_trackingevent": EVENT_COLUMNS,
    "orders_itemcancellation": CANCELLATION_COLUMNS,
    "orders_itembackorder": BACKORDER_COLUMNS,
}
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
NULL = "\\N"


def ts(moment: datetime | None) -> str:
    return NULL if moment is None else moment.isoformat(sep=" ")


@dataclass
class MerchantPlan:
    pk: int
    merchant_id: str
    name: str
    country: str
    style: str
    share: float
    shipper: str  # UPS shipper number, FedEx/USPS/Canada Post account digits
    catalog: list[tuple[str, str, str]] = field(default_factory=list)  # (sku, name, price)
    next_number: int = 0
    customers: list[int] = field(default_factory=list)  # recent customers' seeds (returning)


def merchants_ensure(seed: int = 9) -> list[MerchantPlan]:
    """The merchants, created through the service when missing, with their share and catalog."""
    rng = random.Random(seed)
    zipf = [1 / (rank**0.9) for rank in range(1, len(MERCHANTS) - 1)]
    rest = (1 - BIG_SHARE - DEMO_SHARE) / sum(zipf)
    shares = [BIG_SHARE, *(z * rest for z in zipf), DEMO_SHARE]
    plans = []
    for (merchant_id, name, country, style), share in zip(MERCHANTS, shares, strict=True):
        merchant = Merchant.objects.filter(merchant_id=merchant_id).first() or merchant_create(
            merchant_id=merchant_id,
            name=name,
            locale="fr" if merchant_id == "QBC-01-50505" else "en",
        )
        shipper = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(6))
        plan = MerchantPlan(merchant.pk, merchant_id, name, country, style, share, shipper)
        prefix = merchant_id.split("-")[0]
        for n, (adjective, (product, price)) in enumerate(
            rng.sample([(a, p) for a in PRODUCT_WORDS for p in PRODUCTS], 300)
        ):
            cents = int(price * 100 * rng.uniform(0.8, 1.3)) // 100 * 100 + 99
            plan.catalog.append((f"{prefix}-{10000 + n * 7}", f"{adjective} {product}",
                                 f"{cents / 100:.2f}"))  # fmt: skip
        plans.append(plan)
    return plans


class Ids:
    """The next primary key of each table: rows carry their ids, so children can point at them."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            self.next = {}
            for table in TABLES:
                cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608
                self.next[table] = cursor.fetchone()[0]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Generator:
    def __init__(self, plans: list[MerchantPlan], *, now: datetime, seed: int, total: int):
        self.plans, self.now, self.seed, self.total = plans, now, seed, total
        self.cumulative = list(itertools.accumulate(plan.share for plan in plans))
        self.start = now - timedelta(days=365)
        self.ids = Ids()
        self.rows: dict[str, list[str]] = {table: [] for table in TABLES}
        self.counts = dict.fromkeys(TABLES, 0)

    # --- Orders ----------------------------------------------------------------------------------

    def order_moment(self, index: int, rng: random.Random) -> datetime:
        """Orders grow over the year (twice as many at its end as at its start), in id order."""
        p = (index + rng.random()) / self.total
        x = -1 + math.sqrt(1 + 3 * p)  # inverse CDF of a density ∝ 1 + x on [0, 1]
        moment = self.start + timedelta(days=365 * x)
        return min(moment, self.now - timedelta(minutes=1)).replace(microsecond=0)

    def order_id(self, plan: MerchantPlan, moment: datetime) -> str:
        plan.next_number += 1
        n = plan.next_number
        return {
            "fdc": f"{1_000_000 + n}",
            "w": f"W{300_000_000 + n * 3:09d}",
            "so": f"SO-{moment.year}-{n:06d}",
            "num": f"{100_000 + n}",
        }[plan.style]

    def customer(self, plan: MerchantPlan, rng: random.Random) -> int:
        """A returning customer about a third of the time, else a new one."""
        if plan.customers and rng.random() < 0.3:
            return rng.choice(plan.customers)
        customer = rng.getrandbits(128)
        if len(plan.customers) < 20_000:
            plan.customers.append(customer)
        else:
            plan.customers[rng.randrange(20_000)] = customer
        return customer

    def add_order(self, index: int, rng: random.Random) -> None:
        plan = rng.choices(self.plans, cum_weights=self.cumulative)[0]
        ordered_at = self.order_moment(index, rng)
        who = self.customer(plan, rng)
        first, who = FIRST_NAMES[who % len(FIRST_NAMES)], who // len(FIRST_NAMES)
        last, who = LAST_NAMES[who % len(LAST_NAMES)], who // len(LAST_NAMES)
        cities = CA_CITIES if plan.country == "CA" else US_CITIES
        city, state, zip_prefix, area_codes, _weight = cities[who % len(cities)]
        who //= len(cities)
        if plan.country == "CA":
            letters = "ABCEGHJKLMNPRSTVXY"
            postal_code = (
                f"{zip_prefix}{who % 10}{letters[who // 10 % 18]} "
                f"{who // 180 % 10}{letters[who // 1800 % 18]}{who // 32400 % 10}"
            )
        else:
            postal_code = f"{zip_prefix}{who % 100:02d}"
        who //= 100_000
        area = area_codes[who % len(area_codes)]
        exchange, line = 200 + who // 3 % 800, who // 2400 % 10_000
        who //= 24_000_000
        email = self.email(first, last, who, plan.country)
        phone = ""
        if rng.random() < 0.85:
            phone = rng.choice(PHONE_FORMATS).format(a=area, e=exchange, n=f"{line:04d}")
        street = (f"{1 + who % 9899} {STREETS[who // 7 % len(STREETS)]} "
                  f"{STREET_TYPES[who // 11 % len(STREET_TYPES)]}")  # fmt: skip
        street2 = f"Apt {1 + who // 13 % 40}{'ABCD'[who // 17 % 4]}" if who % 5 == 0 else ""
        order = PlannedOrder(
            pk=self.ids.take("orders_order"), plan=plan, ordered_at=ordered_at,
            city=city, state=state, postal_code=postal_code,
            destination=(city, state, postal_code, plan.country),
            recipient=f"{first[0]} {last}".upper(),
        )  # fmt: skip
        order.created_at = ordered_at + timedelta(seconds=rng.randint(2, 90))
        self.line_items(order, rng)
        self.fulfil(order, rng)
        status = order_status_derive(
            ordered=sum(item.ordered for item in order.items),
            cancelled=sum(item.cancelled for item in order.items),
            shipped=sum(item.shipped for item in order.items),
            delivered=order.delivered_units,
            has_exception=order.has_exception,
        )
        value = sum(float(item.price) * item.ordered for item in order.items)
        country = plan.country
        locale = ("fr-CA" if plan.merchant_id == "QBC-01-50505" else
                  "en-CA" if country == "CA" else "en-US")  # fmt: skip
        self.rows["orders_order"].append("\t".join((
            str(order.pk), str(plan.pk), self.order_id(plan, ordered_at), ts(ordered_at),
            f"{first} {last}", name_folded(f"{first} {last}"), email, phone,
            phone_digits(phone, country), street, street2, city, state,
            postal_code, country, locale, "CAD" if country == "CA" else "USD", f"{value:.2f}",
            "{}", "", status, "f", ts(order.cancelled_at), order.cancel_reason, NULL,
            ts(order.created_at), ts(order.updated_at),
        )) + "\n")  # fmt: skip
        for item in order.items:
            self.write_line_item(order, item)

    def email(self, first: str, last: str, who: int, country: str) -> str:
        domains = CA_EMAIL_DOMAINS if country == "CA" else EMAIL_DOMAINS
        domain = domains[who % len(domains)]
        first = first.lower().replace("é", "e").replace("è", "e")
        last = last.lower().replace("'", "").replace("ô", "o").replace("ü", "u").replace("é", "e")
        number = who // 31 % 100
        style = who // 3100 % 6
        local = (
            f"{first}.{last}",
            f"{first}{last}{number}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{last}.{first}{number}",
            f"{first}{number:02d}",
        )[style]
        return f"{local}@{domain}"

    def line_items(self, order: PlannedOrder, rng: random.Random) -> None:
        count = rng.choices((1, 2, 3, 4, 5), (40, 27, 17, 10, 6))[0]
        for position, (sku, name, price) in enumerate(rng.sample(order.plan.catalog, count)):
            quantity = rng.choices((1, 2, 3, 4), (80, 14, 4, 2))[0]
            order.items.append(PlannedItem(self.ids.take("orders_lineitem"), sku, name, price,
                                    position, quantity))  # fmt: skip

    def write_line_item(self, order: PlannedOrder, item: PlannedItem) -> None:
        self.rows["orders_lineitem"].append("\t".join((
            str(item.pk), str(order.pk), item.sku, item.name, "", "", item.price,
            str(item.position), str(item.ordered), str(item.shipped), str(item.cancelled),
            str(item.backordered), NULL if item.expected is None else item.expected.isoformat(),
            "t", "0", "0",  # returnable; none asked back or returned yet
        )) + "\n")  # fmt: skip

    # --- Fulfilment: cancellations, backorders, shipments --------------------------------------

    def fulfil(self, order: PlannedOrder, rng: random.Random) -> None:
        now, ordered_at = self.now, order.ordered_at
        order.updated_at = order.created_at
        age = now - ordered_at
        roll = rng.random()
        if roll < 0.02 and age > 6 * HOUR:  # the whole order cancelled before it shipped
            order.cancelled_at = ordered_at + timedelta(minutes=rng.randint(20, 360))
            order.cancel_reason = rng.choice(["Customer request", "Payment declined",
                                              "Fraud check failed", "Duplicate order"])  # fmt: skip
            for item in order.items:
                self.cancel(order, item, item.ordered, order.cancel_reason, order.cancelled_at)
            order.updated_at = order.cancelled_at
            return
        if roll < 0.04:  # a line cancelled, in part or in full (out of stock)
            item = rng.choice(order.items)
            when = ordered_at + timedelta(hours=rng.uniform(1, 20))
            if when < now:
                self.cancel(order, item, rng.randint(1, item.ordered), "Out of stock", when)
        late = None
        noticed = ordered_at + timedelta(hours=rng.uniform(2, 24))
        if roll > 0.975 and len(order.items) > 1 and noticed < now:  # backordered, ships later
            late = rng.choice(order.items)
            late.expected = (ordered_at + timedelta(days=rng.randint(7, 28))).date()
            late.backordered = late.awaiting
            self.write_backorder(late, noticed)
        ship_at = ordered_at + timedelta(hours=min(4 + rng.expovariate(1 / 18), 120))
        units = [item for item in order.items if item is not late for _ in range(item.awaiting)]
        parcels = 1
        if len(units) > 1 and rng.random() < 0.14:
            parcels = min(len(units), rng.choice((2, 2, 2, 3)))
        rng.shuffle(units)
        cuts = sorted(rng.sample(range(1, len(units)), parcels - 1)) if parcels > 1 else []
        groups = [units[a:b] for a, b in zip([0, *cuts], [*cuts, len(units)], strict=True)]
        for number, group in enumerate(groups):
            moment = ship_at + timedelta(days=number * rng.uniform(1, 5))
            if group and moment < now:
                self.add_shipment(order, group, moment, rng)
        if late is not None:
            moment = datetime.combine(late.expected, ship_at.timetz()).replace(tzinfo=UTC)
            if moment < now:
                self.add_shipment(order, [late] * late.awaiting, moment, rng)

    def cancel(
        self, order: PlannedOrder, item: PlannedItem, quantity: int, reason: str, when: datetime
    ) -> None:
        item.cancelled += quantity
        item.backordered = min(item.backordered, item.awaiting)
        self.rows["orders_itemcancellation"].append(
            f"{self.ids.take('orders_itemcancellation')}\t{item.pk}\t{quantity}\t{reason}\t"
            f"{ts(when)}\n"
        )

    def write_backorder(self, item: PlannedItem, when: datetime) -> None:
        self.rows["orders_itembackorder"].append(
            f"{self.ids.take('orders_itembackorder')}\t{item.pk}\t{item.backordered}\t"
            f"{item.expected.isoformat()}\t{ts(when)}\n"
        )

    def add_shipment(
        self, order: PlannedOrder, units: list[PlannedItem], shipped_at: datetime, rng
    ) -> None:
        plan = order.plan
        carrier = (
            "sandbox" if plan.merchant_id == "DEMO-01-00001"
            else rng.choices(*zip(*(CA_CARRIERS if plan.country == "CA" else US_CARRIERS),
                                  strict=True))[0]
        )  # fmt: skip
        pk = self.ids.take("orders_shipment")
        number = tracking_number(carrier, pk, plan.shipper, rng)
        quantities: dict[int, tuple[PlannedItem, int]] = {}
        for item in units:
            quantities[item.pk] = (item, quantities.get(item.pk, (item, 0))[1] + 1)
        for item, quantity in quantities.values():
            item.shipped += quantity
            item.backordered = min(item.backordered, item.awaiting)
            self.rows["orders_shipmentitem"].append(
                f"{self.ids.take('orders_shipmentitem')}\t{pk}\t{item.pk}\t{quantity}\n"
            )
        shipped_at = shipped_at.replace(microsecond=0)
        transit_days = rng.choice((2, 3, 3, 4, 5)) if carrier != "dhl" else rng.choice((2, 3))
        estimated = (shipped_at + timedelta(days=transit_days)).date()
        events, state = self.journey(pk, carrier, plan, order, shipped_at, rng)
        status, detail, description, last_at = state
        delivered_at = last_at if status == Status.DELIVERED else None
        if status not in TERMINAL_STATUSES and self.now - last_at > timedelta(days=30):
            status, detail = Status.EXPIRED, "unknown"  # 30 days of silence (the poller's rule)
        terminal = status in TERMINAL_STATUSES
        checked = min(self.now, last_at + (DAY if terminal else timedelta(minutes=20)))
        next_check = None
        if not terminal:
            next_check = self.now + timedelta(minutes=rng.randint(1, 120))
        elif status == Status.DELIVERED and self.now < last_at + DAY:
            next_check = last_at + DAY  # one last look 24 h after delivery
        if status == Status.DELIVERED:
            order.delivered_units += sum(quantity for _item, quantity in quantities.values())
        if status in (Status.EXCEPTION, Status.RETURN_TO_SENDER):
            order.has_exception = True
        order.updated_at = max(order.updated_at, last_at)
        origin_city, origin_state = rng.choice(WAREHOUSES[plan.country])
        dest_city, dest_state, dest_postal, dest_country = order.destination
        delayed = not terminal and estimated < self.now.date()
        self.rows["orders_shipment"].append("\t".join((
            str(pk), str(plan.pk), str(order.pk), carrier, number,
            rng.choice(CARRIER_SERVICES[carrier]), ts(shipped_at), estimated.isoformat(), NULL,
            status, detail, description, ts(delivered_at), "t" if delayed else "f",
            origin_city, origin_state, plan.country, dest_city, dest_state, dest_postal,
            dest_country, ts(last_at), "poll", ts(checked), ts(next_check), "0", "",
            ts(shipped_at + timedelta(seconds=rng.randint(1, 30))), ts(max(checked, last_at)),
            str(uuid.UUID(int=pk, version=4)),  # unique as the row id is; no draw of rng
            "",  # source_reference: generated orders come from no platform
            "outbound",  # direction: no returns are generated
        )) + "\n")  # fmt: skip
        self.rows["tracking_trackingevent"].extend(events)

    def journey(self, pk, carrier, plan, order, shipped_at, rng):
        """The carrier's scans from label to delivery (or to a return, an exception, a pickup
        counter), cut at now. Returns the COPY lines and the newest scan's status."""
        origin = rng.choice(WAREHOUSES[plan.country])
        hubs = rng.sample(HUBS[carrier], min(len(HUBS[carrier]), rng.choice((1, 2, 2, 3))))
        destination = order.destination[:2]
        moment = shipped_at
        steps = [("label", origin, moment)]
        moment += timedelta(hours=rng.uniform(2, 9))
        steps.append(("pickup", origin, moment))
        moment += timedelta(hours=rng.uniform(1, 4))
        steps.append(("departed", origin, moment))
        for hub in hubs:
            moment += timedelta(hours=rng.uniform(5, 20))
            steps.append(("arrived", hub, moment))
            moment += timedelta(hours=rng.uniform(1, 6))
            steps.append(("departed", hub, moment))
        moment += timedelta(hours=rng.uniform(5, 16))
        steps.append(("arrived", destination, moment))
        fate = rng.random()
        if fate < 0.004:  # lost: nothing after the last hub
            steps.pop()
        elif fate < 0.006:  # held by an exception nobody resolved
            moment += timedelta(hours=rng.uniform(2, 10))
            steps.append(("address", destination, moment))
        elif fate < 0.013:  # returned after a failed attempt
            moment = self.attempt(steps, destination, moment, rng)
            moment += DAY * rng.uniform(2, 5)
            steps.append(("return", destination, moment))
        else:
            if fate < 0.023:  # held a day by an exception, then on its way again
                moment += timedelta(hours=rng.uniform(2, 10))
                steps.append((rng.choice(("weather", "address")), destination, moment))
            elif fate < 0.05:  # one failed attempt first
                moment = self.attempt(steps, destination, moment, rng)
            moment = _next_morning(moment, rng)
            steps.append(("ofd", destination, moment))
            moment += timedelta(hours=rng.uniform(1, 9))
            if fate > 0.985:  # to a pickup point; most customers collect it within days
                steps.append(("ready", destination, moment))
                moment += DAY * rng.uniform(0.2, 6)
                if fate > 0.988:
                    steps.append(("delivered", destination, moment))
            else:
                steps.append(("delivered", destination, moment))
        lines, last = [], None
        for step, (city, state), occurred in steps:
            occurred = occurred.replace(microsecond=0)
            if occurred > self.now:
                break
            status, detail, event_type, exception_code, texts = STEPS[step]
            raw_code, text = texts[carrier]
            country = plan.country if step in ("label", "pickup") else order.destination[3]
            postal = order.destination[2] if (city, state) == destination else ""
            recipient = ""
            if step == "delivered":
                recipient = rng.choice(DELIVERED_AT) if rng.random() < 0.7 else order.recipient
            key = event_dedupe_key(CarrierEvent(
                occurred, status, detail, event_type, text, Location(city, state, postal, country),
                raw_code=raw_code,
            ))  # fmt: skip
            raw = (f'{{"code": "{raw_code}", "description": "{text}", "date": '
                   f'"{occurred.isoformat()}", "location": {{"city": "{city}", '
                   f'"stateProvince": "{state}", "postalCode": "{postal}", '
                   f'"countryCode": "{country}"}}}}')  # fmt: skip
            created = occurred + timedelta(minutes=rng.randint(1, 40))
            lines.append("\t".join((
                str(self.ids.take("tracking_trackingevent")), str(pk), ts(occurred), status,
                detail, event_type, text, city, state, postal, country, exception_code,
                recipient, "", "poll", raw_code, text, raw, key, ts(min(created, self.now)),
            )) + "\n")  # fmt: skip
            last = (status, detail, text, occurred)
        return lines, last

    @staticmethod
    def attempt(steps: list, destination, moment: datetime, rng: random.Random) -> datetime:
        """Out for delivery, and nobody home; returns the attempt's time."""
        moment = _next_morning(moment, rng)
        attempted = moment + timedelta(hours=rng.uniform(2, 8))
        steps += [("ofd", destination, moment), ("attempt", destination, attempted)]
        return attempted

    # --- Writing ---------------------------------------------------------------------------------

    def flush(self) -> None:
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            for table, columns in TABLES.items():
                rows = self.rows[table]
                if not rows:
                    continue
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for start in range(0, len(rows), 20_000):
                        copy.write("".join(rows[start : start + 20_000]))
                self.counts[table] += len(rows)
                rows.clear()


@dataclass(slots=True)
class PlannedItem:
    pk: int
    sku: str
    name: str
    price: str
    position: int
    ordered: int
    shipped: int = 0
    cancelled: int = 0
    backordered: int = 0
    expected: object = None  # the backorder's expected date

    @property
    def awaiting(self) -> int:
        return self.ordered - self.shipped - self.cancelled


@dataclass(slots=True)
class PlannedOrder:
    pk: int
    plan: MerchantPlan
    ordered_at: datetime
    city: str
    state: str
    postal_code: str
    destination: tuple[str, str, str, str]
    recipient: str
    items: list[PlannedItem] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    delivered_units: int = 0
    has_exception: bool = False


def _next_morning(moment: datetime, rng: random.Random) -> datetime:
    """The first delivery round (13:00 UTC, 8-9 am on the east coast) at least an hour away."""
    morning = moment.replace(hour=13, minute=0, second=0)
    if morning < moment + HOUR:
        morning += DAY
    return morning + timedelta(minutes=rng.randint(0, 90))


# --- Tracking numbers ----------------------------------------------------------------------------


def _scrambled(pk: int, digits: int, salt: int) -> str:
    """A bijection of the shipment id onto `digits` digits: unique numbers that look random."""
    modulus = 10**digits
    return f"{(pk * 7_919_317 + salt) % modulus:0{digits}d}"


def tracking_number(carrier: str, pk: int, shipper: str, rng: random.Random) -> str:
    """A number of the carrier's real shape whose check digit validates (detection.py)."""
    salt = sum(ord(char) for char in shipper) * 104_729
    if carrier == "ups":  # 1Z + shipper (6) + service (2) + package (7) + check
        payload = f"{shipper}{rng.choice(('03', '03', '02', '01', '12'))}{_scrambled(pk, 7, salt)}"
        return f"1Z{payload}{UPS_MOD10(payload)}"
    if carrier == "fedex":
        if pk % 2:  # Express, 12 digits, mod 11
            payload = f"7{_scrambled(pk, 10, salt)}"
            return f"{payload}{fedex_mod11(payload)}"
        payload = f"96{_scrambled(pk, 12, salt)}"  # Ground, 15 digits, GS1 mod 10
        return f"{payload}{GS1_MOD10(payload)}"
    if carrier == "usps":  # IMpb: 94 + service + mailer ID + serial, GS1 mod 10, 22 digits
        payload = f"9400111{shipper_digits(shipper, 6)}{_scrambled(pk, 8, salt)}"
        return f"{payload}{GS1_MOD10(payload)}"
    if carrier == "dhl":  # Express waybill, 10 digits, mod 7
        payload = f"{1 + pk % 9}{_scrambled(pk, 8, salt)}"
        return f"{payload}{dhl_mod7(payload)}"
    if carrier == "canada_post":  # 16 digits, GS1 mod 10
        payload = f"70{shipper_digits(shipper, 4)}{_scrambled(pk, 9, salt)}"
        return f"{payload}{GS1_MOD10(payload)}"
    return f"SBXDELIVERED{pk:08d}"


def shipper_digits(shipper: str, digits: int) -> str:
    return f"{int(shipper, 36) % 10**digits:0{digits}d}"


# --- Running -------------------------------------------------------------------------------------


def generate(
    orders: int,
    *,
    seed: int = 1,
    chunk: int = 5_000,
    now: datetime | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """Writes `orders` orders with everything that hangs off them; one transaction per chunk
    (a savepoint when the caller already holds one). Returns the rows written per table."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    plans = merchants_ensure()
    generator = Generator(plans, now=now, seed=seed, total=orders)
    started = time.perf_counter()
    for first in range(0, orders, chunk):
        rng = random.Random(seed * 1_000_003 + first)
        for index in range(first, min(first + chunk, orders)):
            generator.add_order(index, rng)
        with transaction.atomic():
            generator.flush()
        done = min(first + chunk, orders)
        if done % (chunk * 10) == 0 or done == orders:
            elapsed = time.perf_counter() - started
            left = elapsed / done * (orders - done)
            progress(
                f"  {done:,} orders, {generator.counts['tracking_trackingevent']:,} events"
                f" in {elapsed:.0f} s ({done / elapsed:,.0f} orders/s, ~{left:.0f} s left)"
            )
    sequences_advance()
    return dict(generator.counts)


def sequences_advance() -> None:
    """The identity columns continue after the ids the generator wrote."""
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" greatest(coalesce(max(id), 0), 1)) FROM {table}"
            )


# --- Checking ------------------------------------------------------------------------------------

COHERENCE_SQL = {
    "line items whose shipped count is not the sum of their shipment items": """
        SELECT count(*) FROM orders_lineitem li
        LEFT JOIN (SELECT line_item_id, sum(quantity) AS q FROM orders_shipmentitem
                   GROUP BY 1) s ON s.line_item_id = li.id
        WHERE li.quantity_shipped <> coalesce(s.q, 0)""",
    "line items whose cancelled count is not the sum of their cancellations": """
        SELECT count(*) FROM orders_lineitem li
        LEFT JOIN (SELECT line_item_id, sum(quantity) AS q FROM orders_itemcancellation
                   GROUP BY 1) c ON c.line_item_id = li.id
        WHERE li.quantity_cancelled <> coalesce(c.q, 0)""",
    "shipment items of another order's line item": """
        SELECT count(*) FROM orders_shipmentitem si
        JOIN orders_shipment s ON s.id = si.shipment_id
        JOIN orders_lineitem li ON li.id = si.line_item_id
        WHERE li.order_id <> s.order_id""",
    "shipments without events": """
        SELECT count(*) FROM orders_shipment s
        WHERE NOT EXISTS (SELECT 1 FROM tracking_trackingevent e WHERE e.shipment_id = s.id)""",
    "shipments whose last_event_at is not their newest event's time": """
        SELECT count(*) FROM orders_shipment s
        JOIN (SELECT shipment_id, max(occurred_at) AS newest FROM tracking_trackingevent
              GROUP BY 1) e ON e.shipment_id = s.id
        WHERE s.last_event_at <> e.newest""",
    "shipments of another merchant than their order's": """
        SELECT count(*) FROM orders_shipment s JOIN orders_order o ON o.id = s.order_id
        WHERE o.merchant_id <> s.merchant_id""",
}
ORDER_TOTALS_SQL = """
    SELECT o.status, li.ordered, li.cancelled, li.shipped, coalesce(d.delivered, 0),
           x.order_id IS NOT NULL
    FROM orders_order o
    JOIN (SELECT order_id, sum(quantity_ordered) AS ordered, sum(quantity_cancelled) AS cancelled,
                 sum(quantity_shipped) AS shipped
          FROM orders_lineitem GROUP BY 1) li ON li.order_id = o.id
    LEFT JOIN (SELECT s.order_id, sum(si.quantity) AS delivered
               FROM orders_shipment s JOIN orders_shipmentitem si ON si.shipment_id = s.id
               WHERE s.status = 'delivered' GROUP BY 1) d ON d.order_id = o.id
    LEFT JOIN (SELECT DISTINCT order_id FROM orders_shipment
               WHERE status IN ('exception', 'return_to_sender')) x ON x.order_id = o.id
"""


def coherence_problems() -> dict[str, int]:
    """Rows breaking a rule the constraints cannot express (0 each when all is well), and orders
    whose status is not what `order_status_derive` makes of their items and shipments."""
    problems = {}
    with connection.cursor() as cursor:
        for label, sql in COHERENCE_SQL.items():
            cursor.execute(sql)
            problems[label] = cursor.fetchone()[0]
    wrong = 0
    with transaction.atomic(), connection.connection.cursor(name="order_totals") as cursor:
        cursor.itersize = 50_000
        cursor.execute(ORDER_TOTALS_SQL)
        for status, ordered, cancelled, shipped, delivered, has_exception in cursor:
            derived = order_status_derive(
                ordered=ordered,
                cancelled=cancelled,
                shipped=shipped,
                delivered=delivered,
                has_exception=has_exception,
            )
            wrong += derived != status
    problems["orders whose status is not derived from their items and shipments"] = wrong
    return problems
