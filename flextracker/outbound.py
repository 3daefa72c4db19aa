"""A requests Session for URLs a merchant configured: every request is checked by the guard
(flextracker/urlguard.py) and its connection made to an address the guard checked, never to a
second answer of the DNS (rebinding); TLS still verifies the URL's own host name. Redirects are
never followed and the environment's proxies never used (a proxy would resolve the name again).
"""

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from flextracker.urlguard import Allowance, Target, UnsafeUrl, resolve_checked


class RefusedUrl(requests.exceptions.InvalidURL):
    """The guard refused the URL; nothing was sent. `problems` as UnsafeUrl's."""

    def __init__(self, unsafe: UnsafeUrl):
        super().__init__(str(unsafe))
        self.problems = unsafe.problems


class _PinnedHTTPConnection(HTTPConnection):
    pinned_address = ""

    def _new_conn(self):
        # urllib3 connects to _dns_host; TLS and the Host header use the name again right after.
        name, self._dns_host = self._dns_host, self.pinned_address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    pass


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, target: Target, allowance: Allowance | None):
        self.target, self.allowance = target, allowance
        super().__init__(max_retries=0)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        try:
            address = resolve_checked(request.url, self.target, self.allowance)[0]
        except UnsafeUrl as unsafe:
            raise RefusedUrl(unsafe) from unsafe
        pool = self.get_connection_with_tls_context(request, verify, None, cert)
        # The pool's new connections go to this checked address; one it keeps alive was opened
        # to an address checked before.
        pinned = _PinnedHTTPSConnection if pool.scheme == "https" else _PinnedHTTPConnection
        pool.ConnectionCls = type(pinned.__name__, (pinned,), {"pinned_address": str(address)})
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert)


class GuardedSession(requests.Session):
    def __init__(self, target: Target, allowance: Allowance | None = None):
        super().__init__()
        self.trust_env = False
        adapter = _PinnedAdapter(target, allowance)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def read_bounded(response: requests.Response, limit: int) -> bytes | None:
    """A streamed answer's body, or None as soon as it passes `limit` bytes (read no further):
    a partner's answer is never held whole before we know its size."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(headers) -> float | None:
    """Retry-After (RFC 9110 §10.2.3) as seconds from now: a number of seconds or an HTTP date;
    None when absent or unreadable."""
    value = (headers.get("Retry-After") or "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
