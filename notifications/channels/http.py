"""POSTing to a URL a merchant gave us (webhooks, Slack, Teams): RELIABILITY.md "Sending webhooks".

The URL is resolved and checked (SSRF) at every call and we connect to the address we checked,
never resolving the name again (DNS rebinding), while TLS still verifies the URL's own host name.
10 s timeout, no redirects, at most 64 KB of the answer read.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from flextracker.outbound import retry_after_seconds
from flextracker.urlguard import UnsafeUrl, resolve_checked
from notifications.channels import DeliveryFailed, DeliveryRefused

TIMEOUT = 10
MAX_ANSWER_BYTES = 64 * 1024
# Slack answers short documented codes (no_service, channel_is_archived, invalid_token …): worth
# showing. Any other body stays unsaid (RELIABILITY.md: no remote body echoed to the merchant).
ERROR_CODE = re.compile(rb"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: CaseInsensitiveDict
    body: bytes  # the first MAX_ANSWER_BYTES at most


class _PinnedAddress(HTTPAdapter):
    """Connects to an address we checked while TLS still verifies the URL's own host name."""

    def __init__(self, host: str):
        self.host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.host
        kwargs["assert_hostname"] = self.host
        super().init_poolmanager(*args, **kwargs)


def _pinned_url(url: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def post_checked(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POSTs `body` to `url` after the SSRF check; any answer comes back (the caller judges it).

    Raises DeliveryFailed when the URL fails the check (DNS may change back) or the network
    fails (timeout, refused, TLS).
    """
    try:
        addresses = resolve_checked(url)
    except UnsafeUrl as unsafe:
        raise DeliveryFailed(f"Refused to call it: {unsafe}") from unsafe
    parts = urlsplit(url)
    session = requests.Session()
    session.mount("https://", _PinnedAddress(parts.hostname))  # plain http only exists in DEBUG
    try:
        with session.post(
            _pinned_url(url, addresses[0]), data=body, headers={**headers, "Host": parts.netloc},
            timeout=TIMEOUT, allow_redirects=False, stream=True,
        ) as response:  # fmt: skip
            answer = next(response.iter_content(MAX_ANSWER_BYTES), b"")  # a bounded part only
            return Answer(response.status_code, response.headers, answer)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{type(error).__name__}") from error
    finally:
        session.close()


def judge_chat_answer(answer: Answer, service: str) -> None:
    """Slack's and Teams' incoming webhooks: 2xx delivered; 404/410 the webhook was removed (or
    its channel archived), so retrying cannot help; anything else is worth retrying."""
    status = answer.status
    if 200 <= status < 300:
        return
    code = answer.body.strip()
    said = f"{service} answered {status}" + (
        f" ({code.decode()})" if ERROR_CODE.fullmatch(code) else ""
    )
    if status in (404, 410):
        raise DeliveryRefused(f"{said}: the webhook is gone.", response_status=status)
    raise DeliveryFailed(
        f"{said}.",
        response_status=status,
        retry_after=retry_after_seconds(answer.headers),
    )
