"""The HTTP clients of the platforms we connect to: one module per platform (shopify,
woocommerce, magento, rest), each through a GuardedSession (flextracker/outbound.py: the SSRF
guard at every request, the merchant's own host allowed only in development), with timeouts,
and two kinds of failure, as the carrier adapters have (STYLE.md)."""

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from flextracker.outbound import RefusedUrl


class PlatformUnavailable(Exception):
    """Worth trying again later: timeout, 429, 5xx, a throttled GraphQL answer. `retry_after`:
    seconds the platform asked us to wait, when it said."""

    def __init__(self, message: str, *, response_status: int | None = None,
                 retry_after: float | None = None):  # fmt: skip
        super().__init__(message)
        self.response_status = response_status
        self.retry_after = retry_after


class PlatformRefused(Exception):
    """Trying again cannot help: bad credentials, the order gone, userErrors. The message is
    ours, never the platform's body echoed whole (RELIABILITY.md)."""

    def __init__(self, message: str, *, response_status: int | None = None):
        super().__init__(message)
        self.response_status = response_status


@contextmanager
def store_call(store: str) -> Iterator[None]:
    """Around a call to a store's API (`store`: "Shopify"): the guard's refusal and the
    transport's failures as our two kinds, named for the merchant."""
    try:
        yield
    except RefusedUrl as refused:
        raise PlatformRefused(f"The store URL is refused: {refused}") from refused
    except requests.Timeout as error:
        raise PlatformUnavailable(f"{store} did not answer in time.") from error
    except requests.RequestException as error:
        raise PlatformUnavailable(f"{store} could not be reached.") from error
