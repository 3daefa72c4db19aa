"""What every carrier adapter shares: its interface, its results, its two kinds of error, and an
HTTP client that treats carrier answers as untrusted input (RELIABILITY.md).

Pure library: no Django, no ORM. Callers pass credentials and a cache (anything with Django's
cache `get`/`set(key, value, timeout)`; the tracking app passes Django's, shared by every worker).
"""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, ClassVar, Literal, Protocol

import requests

from carriers.events import CarrierEvent, Location

logger = logging.getLogger("carriers")

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15
MAX_RESPONSE_BYTES = 2 * 1024 * 1024  # a tracking answer is kilobytes; refuse what is not


class CarrierUnavailable(Exception):
    """Transient: timeout, connection error, 429, 5xx, garbage. Retry later, with backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class CarrierRejected(Exception):
    """Hard: bad credentials, forbidden, invalid request. Retrying the same call cannot help."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str  # OAuth client id, or username (Canada Post); "" for DHL
    secret: str  # OAuth client secret, password, or API key
    base_url: str  # the carrier's production URL, a sandbox, or a local fake (benchmarks)


@dataclass(frozen=True, slots=True)
class TrackQuery:
    """One number to track, with when we learned of it (the sandbox derives its story from it)."""

    tracking_number: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """What the carrier knows about one number, normalized; `events` in any order."""

    tracking_number: str
    found: bool = True  # False: "not found" — usually "not yet" (CARRIERS.md §0)
    events: tuple[CarrierEvent, ...] = ()
    estimated_delivery_date: date | None = None
    estimated_delivery_at: datetime | None = None
    service: str = ""
    origin: Location | None = None
    destination: Location | None = None
    problem: str = ""  # a hard problem with this number alone (e.g. invalid), shown to staff
    raw: dict = field(default_factory=dict, compare=False)


class Cache(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: float | None = None) -> None: ...


class MemoryCache:
    """A process-local Cache for tests and scripts."""

    def __init__(self):
        self._values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        self._values[key] = value


class Carrier(Protocol):
    code: ClassVar[str]
    batch_size: ClassVar[int]  # numbers per call: 30 for FedEx, 1 for most

    def track(self, queries: Sequence[TrackQuery]) -> dict[str, TrackingResult]:
        """Results by tracking number, for every number asked. Raises CarrierUnavailable or
        CarrierRejected when the whole call failed."""
        ...


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    carrier: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise CarrierUnavailable(f"{self.carrier}: answer is not JSON") from error

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class CarrierHttp:
    """requests with timeouts, a size limit and the transient/hard classification of CARRIERS.md
    §9. Statuses in `allowed` come back to the adapter (e.g. a 404 that means "not yet").

    Redirects are never followed (a redirect could lead anywhere, with the credentials), and an
    error never quotes the answer's body: whoever set the base URL would read it as last_error."""

    def __init__(self, carrier: str, session: requests.Session | None = None):
        self.carrier = carrier
        self.session = session or requests.Session()

    def request(
        self, method: str, url: str, *, allowed: Sequence[int] = (), **kwargs
    ) -> HttpAnswer:
        try:
            with self.session.request(
                method, url, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True,
                allow_redirects=False, **kwargs,
            ) as response:  # fmt: skip
                answer = HttpAnswer(
                    response.status_code,
                    dict(response.headers),
                    _read_limited(response),
                    self.carrier,
                )
        except requests.exceptions.InvalidURL as error:  # malformed, or refused by a guard
            raise CarrierRejected(f"{self.carrier}: {error}") from error
        except requests.RequestException as error:
            raise CarrierUnavailable(f"{self.carrier}: {type(error).__name__}") from error
        if answer.status < 300 or answer.status in allowed:
            return answer
        if answer.status < 400:
            raise CarrierRejected(
                f"{self.carrier}: HTTP {answer.status}, a redirect (not followed)",
                status=answer.status,
            )
        if answer.status == 429:
            raise CarrierUnavailable(
                f"{self.carrier}: rate limited", retry_after=_retry_after(answer)
            )
        if answer.status in (408, 409) or answer.status >= 500:
            raise CarrierUnavailable(f"{self.carrier}: HTTP {answer.status}")
        raise CarrierRejected(f"{self.carrier}: HTTP {answer.status}", status=answer.status)


def _read_limited(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise CarrierUnavailable(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(answer: HttpAnswer) -> float | None:
    value = answer.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class OAuthClient:
    """OAuth2 client credentials, the token cached until shortly before it expires and shared
    through the cache by every worker; a 401 drops it and retries once (CARRIERS.md §0.3)."""

    EXPIRY_MARGIN = 60

    def __init__(
        self, http: CarrierHttp, credentials: Credentials, cache: Cache, token_path: str,
        *, client_auth: Literal["basic", "form", "json"] = "basic",
    ):  # fmt: skip
        """`client_auth`: how the token request carries the client id and secret — HTTP Basic
        (RFC 6749 §2.3.1, UPS), form fields (FedEx), or a JSON body (USPS's documented form)."""
        self.http = http
        self.client_auth = client_auth
        self.credentials = credentials
        self.cache = cache
        self.token_url = credentials.base_url.rstrip("/") + token_path
        self.cache_key = (
            f"carrier-token:{http.carrier}:{credentials.base_url}:{credentials.client_id}"
        )

    def token(self) -> str:
        token = self.cache.get(self.cache_key)
        if token:
            return token
        try:
            answer = self.http.request(
                "POST", self.token_url, headers={"Accept": "application/json"},
                **self._token_request(),
            )  # fmt: skip
        except CarrierRejected as error:
            if error.status is None or error.status < 400:  # refused by us, or a redirect
                raise
            raise CarrierRejected(f"{self.http.carrier}: credentials refused") from error
        token_answer = answer.json()
        token = token_answer.get("access_token") if isinstance(token_answer, dict) else None
        if not token:
            raise CarrierUnavailable(f"{self.http.carrier}: token answer without access_token")
        lifetime = int(token_answer.get("expires_in") or 3600)
        self.cache.set(self.cache_key, token, max(lifetime - self.EXPIRY_MARGIN, 1))
        return token

    def _token_request(self) -> dict:
        grant = {"grant_type": "client_credentials"}
        if self.client_auth == "basic":
            return {"data": grant, "auth": (self.credentials.client_id, self.credentials.secret)}
        body = {**grant, "client_id": self.credentials.client_id,
                "client_secret": self.credentials.secret}  # fmt: skip
        return {"json": body} if self.client_auth == "json" else {"data": body}

    def request(
        self, method: str, url: str, *, headers: dict | None = None, **kwargs
    ) -> HttpAnswer:
        """An authorized call; on 401 the cached token is dropped and the call made once more."""
        try:
            return self._authorized(method, url, headers, **kwargs)
        except CarrierRejected as error:
            if error.status != 401:
                raise
        self.cache.set(self.cache_key, None, 1)  # expired or revoked early: fetch a new one
        return self._authorized(method, url, headers, **kwargs)

    def _authorized(self, method: str, url: str, headers: dict | None, **kwargs) -> HttpAnswer:
        headers = {**(headers or {}), "Authorization": f"Bearer {self.token()}"}
        return self.http.request(method, url, headers=headers, **kwargs)


@dataclass(frozen=True, slots=True)
class Mapped:
    """A carrier code's meaning in TRACKING.md's terms (one row of an adapter's `_STATUS`)."""

    status: str
    detail: str
    exception_code: str = ""


def map_code(table: dict[str, Mapped], code: str, fallback: Mapped, carrier: str) -> Mapped:
    """The row for `code`; an unknown code falls back (and is logged, so the table can grow)."""
    mapped = table.get(code)
    if mapped is None:
        logger.warning("%s: unmapped event code %r; using %s", carrier, code, fallback.status)
        return fallback
    return mapped


def inherit_informational(scans: Iterable[tuple[CarrierEvent, bool]]) -> tuple[CarrierEvent, ...]:
    """The events in the order given, where an informational scan (a new delivery date, a
    signature image, "arriving on time") takes the status of the newest real scan at or before
    it, so it is kept but never moves the shipment's status (CARRIERS.md §1). `scans` pairs each
    event with whether it is informational; one with nothing before it keeps its own meaning."""
    pairs = list(scans)
    events = [event for event, _informational in pairs]
    current: CarrierEvent | None = None
    for index in sorted(range(len(pairs)), key=lambda i: (pairs[i][0].occurred_at, pairs[i][1])):
        event, informational = pairs[index]
        if informational and current is not None:
            events[index] = replace(
                event, status=current.status, status_detail=current.status_detail,
                event_type=current.event_type, exception_code=current.exception_code,
            )  # fmt: skip
        elif not informational:
            current = event
    return tuple(events)
