"""The carriers we can poll, by code: an explicit dict, no scanning, no entry points."""

from tracking.carriers.base import Carrier
from tracking.carriers.sandbox import Sandbox

CARRIERS: dict[str, type[Carrier]] = {carrier.code: carrier for carrier in (Sandbox,)}
