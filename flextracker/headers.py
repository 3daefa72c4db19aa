"""Security headers for the staff pages and the API (RELIABILITY.md "Security").

The console and the admin show customers' personal data: no cache may keep them, and a
Content-Security-Policy limits what an injected tag could do. API answers are never cached either.
A view that sets its own policy (the branding preview renders the customer page with its nonce)
keeps it.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

_STAFF_COMMON = "object-src 'none'; form-action 'self'; frame-ancestors 'none'"

CONSOLE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"connect-src 'self'; base-uri 'none'; {_STAFF_COMMON}"
)
# Inline styles stay allowed in the admin: a message template's preview is an iframe `srcdoc`
# (which inherits this policy) holding the email, whose styles must be inline to reach mailboxes.
# Its images are the merchant's logo, served from PUBLIC_BASE_URL.
ADMIN_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' https: data:; base-uri 'self'; {_STAFF_COMMON}"
)
API_DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"connect-src 'self'; base-uri 'none'; {_STAFF_COMMON}"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
API_DOCS_PREFIX = "/api/docs/"


def _policy_for(path: str) -> str | None:
    if path.startswith("/console/") or path == "/":  # the landing page lists signed demo links
        return CONSOLE_POLICY
    if path.startswith("/admin/"):
        return ADMIN_POLICY
    if path.startswith(API_DOCS_PREFIX):
        return API_DOCS_POLICY
    if path.startswith("/api/"):
        return API_POLICY
    return None


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = _policy_for(request.path)
        if policy is None:
            return response
        response.headers.setdefault("Content-Security-Policy", policy)
        if request.path.startswith("/api/"):
            response["Cache-Control"] = "no-store"
        else:
            add_never_cache_headers(response)  # as Django's admin does for its own pages
        return response
