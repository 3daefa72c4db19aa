"""Registering a number with a tracking aggregator, so that its pushes follow it
(aggregators/REGISTER_AND_SIGNATURES.md): EasyPost `POST /v2/trackers`, AfterShip
`POST /tracking/2026-07/trackings`, Shippo `POST /tracks/`.

Pure library: no ORM, no settings. Errors are the carriers' two kinds: `CarrierUnavailable`
(timeout, 429, 5xx: try again later) and `RegistrationRefused` (the aggregator said no for good,
with its reason in words). The API key goes in a header and is never in an error or a log line.
"""

from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass

import requests

from carriers.base import CarrierHttp, CarrierRejected, CarrierUnavailable, HttpAnswer
from carriers.vocabulary import CarrierCode

AFTERSHIP_API_VERSION = "2026-07"
_REFUSALS = tuple(status for status in range(400, 500) if status not in (408, 409, 429))
_REASON_LIMIT = 300


class RegistrationRefused(Exception):
    """Permanent: the aggregator refused the number, the carrier or the key."""


@dataclass(frozen=True, slots=True)
class Registered:
    external_id: str  # the aggregator's id of its tracker ("trk_…"), or "" when it gives none


@dataclass(frozen=True, slots=True)
class _Api:
    path: str
    carriers: dict[str, str]
    headers: Callable[[str], dict[str, str]]
    body: Callable[[str, str], dict]
    external_id: Callable[[object], str]


def register(
    aggregator: str, *, number: str, carrier: str, api_key: str, base_url: str,
    session: requests.Session | None = None,
) -> Registered:  # fmt: skip
    """Registers `number` on our `carrier` with the aggregator's account of `api_key`."""
    api = _APIS[aggregator]
    their_carrier = api.carriers.get(carrier)
    if their_carrier is None:
        raise RegistrationRefused(f"{aggregator} does not follow {carrier} numbers for us.")
    http = CarrierHttp(aggregator, session)
    try:
        answer = http.request(
            "POST", base_url.rstrip("/") + api.path, allowed=_REFUSALS,
            headers={"Accept": "application/json", **api.headers(api_key)},
            json=api.body(number, their_carrier),
        )  # fmt: skip
    except CarrierRejected as error:  # a redirect, or an address refused before any call
        raise RegistrationRefused(str(error)) from error
    if answer.status >= 400:
        if aggregator == "aftership" and _aftership_code(answer) == 4003:
            return Registered("")  # "tracking already exists": registered before, as wished
        raise RegistrationRefused(_reason(aggregator, answer))
    return Registered(api.external_id(answer.json())[:100])


def _reason(aggregator: str, answer: HttpAnswer) -> str:
    """The refusal in the aggregator's words, short: Shippo `{"carrier": ["Invalid value…"]}`,
    EasyPost `{"error": {"message"}}`, AfterShip `{"meta": {"message"}}`."""
    if answer.status in (401, 403):
        return f"{aggregator}: HTTP {answer.status}, the API key was refused"
    try:
        said = _words(answer.json())
    except CarrierUnavailable:
        said = ""
    return (f"{aggregator}: HTTP {answer.status}" + (f", {said}" if said else ""))[:_REASON_LIMIT]


def _words(body: object) -> str:
    if not isinstance(body, dict):
        return ""
    for outer, inner in (("error", "message"), ("meta", "message")):
        value = body.get(outer)
        if isinstance(value, dict) and isinstance(value.get(inner), str):
            return value[inner]
    if isinstance(body.get("detail"), str):
        return body["detail"]
    return "; ".join(
        f"{field}: {' '.join(str(m) for m in messages)}"
        for field, messages in body.items()
        if isinstance(messages, list)
    )


def _aftership_code(answer: HttpAnswer) -> int | None:
    try:
        body = answer.json()
    except CarrierUnavailable:
        return None
    meta = body.get("meta") if isinstance(body, dict) else None
    return meta.get("code") if isinstance(meta, dict) else None


def _id_at(*path: str) -> Callable[[object], str]:
    def external_id(body: object) -> str:
        for key in path:
            body = body.get(key) if isinstance(body, dict) else None
        return body if isinstance(body, str) else ""

    return external_id


_APIS = {
    "easypost": _Api(
        path="/v2/trackers",
        carriers={CarrierCode.UPS: "UPS", CarrierCode.FEDEX: "FedEx", CarrierCode.USPS: "USPS",
                  CarrierCode.DHL: "DHLExpress", CarrierCode.CANADA_POST: "CanadaPost"},
        # HTTP Basic with the key as the user and no password (EasyPost's curl -u "$KEY":)
        headers=lambda key: {"Authorization": "Basic " + b64encode(f"{key}:".encode()).decode()},
        body=lambda number, carrier: {"tracker": {"tracking_code": number, "carrier": carrier}},
        external_id=_id_at("id"),
    ),
    "aftership": _Api(
        path=f"/tracking/{AFTERSHIP_API_VERSION}/trackings",
        carriers={CarrierCode.UPS: "ups", CarrierCode.FEDEX: "fedex", CarrierCode.USPS: "usps",
                  CarrierCode.DHL: "dhl", CarrierCode.CANADA_POST: "canada-post"},
        headers=lambda key: {"as-api-key": key},
        body=lambda number, carrier: {"tracking_number": number, "slug": carrier},
        # versioned answers hold the tracking in `data`, the legacy v4 in `data.tracking`
        external_id=lambda body: (
            _id_at("data", "id")(body) or _id_at("data", "tracking", "id")(body)
        ),
    ),
    "shippo": _Api(
        path="/tracks/",
        carriers={CarrierCode.UPS: "ups", CarrierCode.FEDEX: "fedex", CarrierCode.USPS: "usps",
                  CarrierCode.DHL: "dhl_express", CarrierCode.CANADA_POST: "canada_post"},
        headers=lambda key: {"Authorization": f"ShippoToken {key}"},
        body=lambda number, carrier: {"carrier": carrier, "tracking_number": number},
        external_id=_id_at("tracking_number"),  # a Track has no id of its own
    ),
}  # fmt: skip
