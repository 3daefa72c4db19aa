"""Each carrier's public tracking page, for customers and agents (no API call involved)."""

from urllib.parse import quote

from carriers.vocabulary import CarrierCode

PUBLIC_TRACKING_URLS = {
    CarrierCode.UPS: "https://www.ups.com/track?tracknum={number}",
    CarrierCode.FEDEX: "https://www.fedex.com/fedextrack/?trknbr={number}",
    CarrierCode.USPS: "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    CarrierCode.DHL: "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
    CarrierCode.CANADA_POST: (
        "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"
    ),
}


def public_tracking_url(carrier: str, tracking_number: str) -> str:
    """The carrier's own tracking page, or "" for carriers without one (sandbox, other)."""
    template = PUBLIC_TRACKING_URLS.get(carrier)
    return template.format(number=quote(tracking_number, safe="")) if template else ""
