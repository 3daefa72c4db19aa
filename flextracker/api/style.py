"""The API style a request speaks (API.md "The seed-002 style tracking API"): its key's, unless
the request names another in the `FlexTracker-Style` header. Chosen once per request."""

from django.db import models

from flextracker.errors import ApiError

STYLE_HEADER = "FlexTracker-Style"


class ApiStyle(models.TextChoices):
    NATIVE = "native", "Native (TRACKING.md's vocabulary)"
    TRACKING_API = "tracking-api", "Tracking API (seed 002's vocabulary)"


def request_style(request) -> str:
    """The header's style, else the authenticating key's (`request.auth.style`)."""
    asked = request.headers.get(STYLE_HEADER, "").strip()
    if not asked:
        return getattr(request.auth, "style", ApiStyle.NATIVE)
    if asked not in ApiStyle.values:
        raise ApiError(
            f"{STYLE_HEADER} must be one of: {', '.join(ApiStyle.values)}.",
            code="INVALID_REQUEST",
            fields={STYLE_HEADER: [f'"{asked}" is not a valid choice.']},
        )
    return asked
