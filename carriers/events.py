"""The normalized event every carrier adapter (and every merchant report) hands upwards."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Location:
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    occurred_at: datetime
    status: str  # TRACKING.md vocabulary (vocabulary.Status)
    status_detail: str
    event_type: str
    description: str = ""
    location: Location = field(default_factory=Location)
    exception_code: str = ""
    recipient: str = ""
    signature_url: str = ""
    raw_code: str = ""  # the carrier's own code and text, kept for "why is it X?"
    raw_description: str = ""
    raw: dict = field(default_factory=dict)
