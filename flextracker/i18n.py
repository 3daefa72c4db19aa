"""The staff's pages speak the staff member's language.

The admin and the customer-service console follow the browser's Accept-Language (English when it
names none of LANGUAGES). The customer pages choose their own (`pages.views.page_language`: the
order's locale, or the visitor's choice), and the API stays in English, as API.md's messages are:
so this is not Django's LocaleMiddleware, which would apply to every path.
"""

import functools

from django.utils import translation
from django.utils.cache import patch_vary_headers

STAFF_PATHS = ("/admin/", "/console/")


class StaffLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(STAFF_PATHS):
            return self.get_response(request)
        language = translation.get_language_from_request(request)
        # An override, not `activate`: the next request this thread serves starts from English.
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        patch_vary_headers(response, ["Accept-Language"])
        response.headers.setdefault("Content-Language", language)
        return response


@functools.lru_cache(maxsize=512)
def supported_language(locale: str) -> str | None:
    """The language of LANGUAGES to speak to someone whose locale is `locale` ("es-MX" → "es",
    "pt_BR" → "pt", "zh-CN" or "zh" → "zh-hans"), or None when we speak none of it."""
    code = (locale or "").strip().lower().replace("_", "-")[:35]
    for candidate in dict.fromkeys((code, code.split("-")[0])):
        if not candidate:
            continue
        try:
            return translation.get_supported_language_variant(candidate)
        except LookupError:
            continue
    return None
