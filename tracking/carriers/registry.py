"""The carriers we can poll, by code: an explicit dict, no scanning, no entry points."""

from tracking.carriers.base import Carrier
from tracking.carriers.canada_post import CanadaPost
from tracking.carriers.dhl import Dhl
from tracking.carriers.fedex import Fedex
from tracking.carriers.sandbox import Sandbox
from tracking.carriers.ups import Ups
from tracking.carriers.usps import Usps

CARRIERS: dict[str, type[Carrier]] = {
    carrier.code: carrier for carrier in (Ups, Fedex, Usps, Dhl, CanadaPost, Sandbox)
}
