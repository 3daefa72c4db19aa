"""Three merchants' own formats, as their OMSs write them, and the dictionaries that map them."""

from ingest.models import FormatDictionary
from merchants.models import Merchant

# One row per line item; consecutive rows with the same MsgId are one message.
CSV_MAPPING = {
    "groupBy": "MsgId",
    "eventId": "MsgId",
    "type": {"path": "MsgType",
             "values": {"NEW": "order.created", "SHIP_CONF": "shipment.confirmed",
                        "CXL": "order.cancelled", "BO": "items.backordered"}},
    "fields": {
        "*": {"orderId": "OrderNo"},
        "order.created": {
            "orderDate": {"path": "Date", "as": "datetime", "format": "%m/%d/%Y %H:%M"},
            "customer.name": "Customer", "customer.email": "Email",
            "currency": {"value": "USD"},
            "lineItems": {"fields": {"itemId": "Sku", "name": "Description",
                                     "quantity": {"path": "Qty", "as": "int"},
                                     "price": {"path": "Price", "as": "decimal"}}},
        },
        "shipment.confirmed": {
            "trackingNumber": "Tracking",
            "carrier": {"path": "Carrier", "values": {"UPSN": "ups", "FDEG": "fedex",
                                                      "SBX": "sandbox"}},
            "shippedAt": {"path": "Date", "as": "datetime", "format": "%m/%d/%Y %H:%M"},
            "items": {"fields": {"itemId": "Sku", "quantity": {"path": "Qty", "as": "int"}}},
        },
        "order.cancelled": {
            "reason": {"path": "Description", "default": "cancelled by the OMS"},
            "items": {"fields": {"itemId": "Sku", "quantity": {"path": "Qty", "as": "int"}}},
        },
        "items.backordered": {
            "items": {"fields": {"itemId": "Sku", "quantity": {"path": "Qty", "as": "int"},
                                 "expectedDate": {"path": "Date", "as": "date",
                                                  "format": "%m/%d/%Y"}}},
        },
    },
}  # fmt: skip

CSV_HEADER = (
    "MsgId,MsgType,OrderNo,Date,Customer,Email,Sku,Description,Qty,Price,Carrier,Tracking\n"
)
CSV_SAMPLE = CSV_HEADER + (
    "M1,NEW,1001,11/20/2026 09:30,Jane Doe,jane@example.com,MUG,Blue mug,2,10.00,,\n"
    "M1,NEW,1001,11/20/2026 09:30,Jane Doe,jane@example.com,TOWEL,Tea towel,1,4.50,,\n"
    "M2,SHIP_CONF,1001,11/21/2026 16:00,,,MUG,,1,,SBX,SBXDELIVERED0001\n"
    "M3,SHIP_CONF,1001,11/22/2026 10:15,,,MUG,,1,,SBX,SBXDELIVERED0002\n"
    "M4,CXL,1001,,,,TOWEL,out of stock,1,,,\n"
)

# Nested JSON: a header and the order, their own names; one message per line of a file.
JSON_MAPPING = {
    "eventId": "header.messageId",
    "type": {"path": "header.kind", "values": {"OrderPlaced": "order.created",
                                               "Shipped": "shipment.confirmed"}},
    "occurredAt": {"path": "header.sentAt", "as": "datetime", "format": "epoch_ms"},
    "fields": {
        "*": {"orderId": "order.number"},
        "order.created": {
            "customer.name": "order.buyer.fullName",
            "shippingAddress.city": "order.buyer.address.town",
            "shippingAddress.countryCode": "order.buyer.address.country",
            "orderValue": {"path": "order.total", "as": "decimal"},
            "lineItems": {"path": "order.lines", "fields": {
                "itemId": "sku", "name": "title", "quantity": {"path": "units", "as": "int"}}},
        },
        "shipment.confirmed": {
            "trackingNumber": "parcel.trackingCode",
            "carrier": {"value": "sandbox"},
            "estimatedDelivery": {"path": "parcel.eta", "as": "date", "format": "%d.%m.%Y"},
            "items": {"path": "parcel.contents", "fields": {
                "itemId": "sku", "quantity": {"path": "units", "as": "int"}}},
        },
    },
}  # fmt: skip

JSON_ORDER = {
    "header": {"messageId": "J-1", "kind": "OrderPlaced", "sentAt": 1795170600000},
    "order": {"number": "2002", "total": 31.5,
              "buyer": {"fullName": "Ana Ruiz", "address": {"town": "Madrid", "country": "ES"}},
              "lines": [{"sku": "LAMP", "title": "Desk lamp", "units": 1},
                        {"sku": "BULB", "title": "Bulb", "units": 3}]},
}  # fmt: skip
JSON_SHIPMENT = {
    "header": {"messageId": "J-2", "kind": "Shipped", "sentAt": 1795257000000},
    "order": {"number": "2002"},
    "parcel": {"trackingCode": "SBXDELIVERED0003", "eta": "28.11.2026",
               "contents": [{"sku": "LAMP", "units": 1}, {"sku": "BULB", "units": 3}]},
}  # fmt: skip

# XML: many messages per document, attributes and nesting.
XML_MAPPING = {
    "records": "Message",
    "eventId": "@id",
    "type": {"path": "@type",
             "values": {"ORDER": "order.created", "SHIP_CONF": "shipment.confirmed",
                        "BACKORDER": "items.backordered"}},
    "fields": {
        "*": {"orderId": "OrderRef"},
        "order.created": {
            "customer.email": "Customer/Email",
            "lineItems": {"path": "Lines/Line", "fields": {
                "itemId": "@sku", "name": ".", "quantity": {"path": "@qty", "as": "int"}}},
        },
        "shipment.confirmed": {
            "trackingNumber": "Package/@tracking",
            "carrier": {"path": "Package/@carrier", "values": {"SANDBOX": "sandbox"}},
            "items": {"path": "Package/Line", "fields": {
                "itemId": "@sku", "quantity": {"path": "@qty", "as": "int"}}},
        },
        "items.backordered": {
            "items": {"path": "Lines/Line", "fields": {
                "itemId": "@sku", "quantity": {"path": "@qty", "as": "int"},
                "expectedDate": {"path": "@due", "as": "date"}}},
        },
    },
}  # fmt: skip

XML_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<Messages xmlns="urn:acme:oms:2">
  <Message id="X-1" type="ORDER">
    <OrderRef>3003</OrderRef>
    <Customer><Email>kim@example.com</Email></Customer>
    <Lines><Line sku="BOOT" qty="1">Hiking boot</Line>
           <Line sku="SOCK" qty="2">Wool sock</Line></Lines>
  </Message>
  <Message id="X-2" type="SHIP_CONF">
    <OrderRef>3003</OrderRef>
    <Package tracking="SBXDELIVERED0004" carrier="SANDBOX"><Line sku="BOOT" qty="1"/></Package>
  </Message>
  <Message id="X-3" type="BACKORDER">
    <OrderRef>3003</OrderRef>
    <Lines><Line sku="SOCK" qty="2" due="2026-12-05"/></Lines>
  </Message>
</Messages>
"""


def dictionary(merchant: Merchant, fmt: str, mapping: dict, name: str = "") -> FormatDictionary:
    return FormatDictionary.objects.create(
        merchant=merchant, name=name or f"{fmt} format", format=fmt, mapping=mapping
    )
