"""One hierarchy of typed errors with API.md's stable codes.

Services raise these whatever the channel (API, events, files, queues); the API's exception
handler renders them in the envelope, and batch/file channels report them per record.
"""

from typing import ClassVar


class ApiError(Exception):
    status: ClassVar[int] = 400
    severity: ClassVar[str] = "hard"
    default_code: ClassVar[str] = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        details: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}
        self.details = details or {}

    def body(self) -> dict:
        """API.md's error envelope."""
        return {
            "success": False,
            "error": {
                "code": self.code,
                "message": self.message,
                "severity": self.severity,
                "details": self.details,
                "fields": self.fields,
            },
        }


class MissingData(ApiError):
    """A required field is absent or empty: code MISSING_<ENTITY>_DATA."""

    status = 400


class InvalidData(ApiError):
    """A value is present but wrong: code INVALID_<ENTITY>_DATA."""

    status = 422


class NotFound(ApiError):
    status = 404
    default_code = "ORDER_NOT_FOUND"


class Conflict(ApiError):
    status = 409
    default_code = "IDEMPOTENCY_CONFLICT"


class InFlight(Conflict):
    """The first request with this idempotency key is still being processed: retrying shortly
    gets its answer (Stripe's 409 for a concurrent request), so the error is transient."""

    severity = "transient"


class PayloadTooLarge(ApiError):
    status = 413
    default_code = "PAYLOAD_TOO_LARGE"


class RateLimited(ApiError):
    status = 429
    severity = "transient"
    default_code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, details={"retryAfter": retry_after})


class NotYetAvailable(ApiError):
    """Seed 002's TRACKING_NOT_AVAILABLE: known, but the carrier has reported nothing yet."""

    status = 404
    severity = "transient"
    default_code = "TRACKING_NOT_AVAILABLE"

    def __init__(self, message: str, *, reason: str, retry_after: int):
        super().__init__(message, details={"reason": reason, "retryAfter": retry_after})
