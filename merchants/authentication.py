"""API key authentication and the per-key rate limit (DRF settings name these classes)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import SimpleRateThrottle

from flextracker import ratelimit
from flextracker.api.envelope import AUTHENTICATE_HEADER
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_authenticate


class ApiClient:
    """Who is calling: the merchant behind an API key (request.user in API views)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.merchant: Merchant = api_key.merchant


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""

    def authenticate(self, request):
        raw_key = request.headers.get("X-API-Key", "")
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            raw_key = credentials.strip()
        if not raw_key:
            return None
        api_key = api_key_authenticate(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return ApiClient(api_key), api_key

    def authenticate_header(self, request):
        return AUTHENTICATE_HEADER


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Or header `X-API-Key`."}


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Fairness between keys (RELIABILITY.md: not a security control). A fixed window counted
    atomically in the shared cache (flextracker.ratelimit, Redis in production): DRF's own
    throttle reads a key's history and writes it back, so concurrent workers let requests over
    the limit through."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None
        return f"api-key:{request.auth.pk}"

    def allow_request(self, request, view):
        key = self.get_cache_key(request, view)
        if self.rate is None or key is None:
            return True
        return ratelimit.take(key, self.num_requests, window_seconds=self.duration)

    def wait(self):
        return ratelimit.seconds_to_next_window(self.duration)
