"""The carriers we can poll, by code: an explicit dict, no scanning, no entry points."""

from carriers.base import Carrier
from carriers.canada_post import CanadaPost
from carriers.dhl import Dhl
from carriers.fedex import Fedex
from carriers.sandbox import Sandbox
from carriers.ups import Ups
from carriers.usps import Usps

CARRIERS: dict[str, type[Carrier]] = {
    carrier.code: carrier for carrier in (Ups, Fedex, Usps, Dhl, CanadaPost, Sandbox)
}
