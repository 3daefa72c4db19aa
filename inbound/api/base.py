"""Base views: every POST of an OMS message is logged raw, idempotent, and answered in the
envelope; handlers only validate, call one service and say what to answer."""

from collections.abc import Callable
from typing import ClassVar

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from flextracker.api.envelope import api_error_for, error_response, validation_error
from flextracker.api.views import MerchantApi
from inbound.models import InboundChannel, InboundMessage
from inbound.services import (
    Failure,
    Result,
    body_redacted,
    idempotency_key_problem,
    inbound_handle,
    inbound_message,
    inbound_queue,
    inbound_record_failure,
    inbound_reject,
    parse_json,
)


class InboundApi(MerchantApi):
    """A POST carrying an OMS message. Subclasses define `handle(merchant, payload, **kwargs)`;
    those that define `queued` too (its change, parsed without the database) also take
    `Prefer: respond-async` (RFC 7240): 202 at once, applied by the worker (ingest/queued.py).
    """

    queued: ClassVar[Callable | None] = None
    # Top-level body fields kept out of the inbound log (a merchant's signing secret): the
    # message is handled as sent and logged with them redacted. Not for `queued` endpoints,
    # whose worker reads the logged body.
    unlogged_fields: ClassVar[tuple[str, ...]] = ()

    def post(self, request, **kwargs) -> HttpResponse:
        message = inbound_message(
            merchant=self.merchant(),
            channel=InboundChannel.API,
            method=request.method,
            path=request.path,
            body=request.body,
            content_type=request.content_type or "",
        )
        if self.unlogged_fields:  # the request hash stays the sent body's
            message.body = body_redacted(request.body, self.unlogged_fields)
        key = request.headers.get("Idempotency-Key")
        if key and (problem := idempotency_key_problem(key)):
            error = validation_error({"Idempotency-Key": [problem]}, self.entity)
            return self.answer(inbound_reject(message, error))
        if self.queued is not None and _prefers_async(request):
            outcome = self._queue(message, kwargs, key)
            response = self.answer(outcome)
            response["Preference-Applied"] = "respond-async"
            if response.status_code == 202:
                response["Location"] = outcome.data["statusUrl"]
            return response
        return self.answer(self._process(message, kwargs, key))

    def _process(self, message: InboundMessage, kwargs: dict, key: str | None) -> Result | Failure:
        sent = self.request.body
        parse = (lambda _logged: parse_json(sent)) if self.unlogged_fields else parse_json
        handler = lambda m, payload: self.handle(m, payload, **kwargs)  # noqa: E731
        return self._logged(message, lambda: inbound_handle(message, handler, key, parse))

    def _queue(self, message: InboundMessage, kwargs: dict, key: str | None) -> Result | Failure:
        check = lambda payload: self.queued(payload, **kwargs)  # noqa: E731
        return self._logged(message, lambda: inbound_queue(message, check, key))

    def _logged(self, message: InboundMessage, run: Callable[[], Result | Failure]):
        """What `run` answered; our own failure is logged as such."""
        try:
            return run()
        except Exception as exc:
            error = api_error_for(exc, entity=self.entity, not_found_code=self.not_found_code)
            inbound_record_failure(message, error)
            return Failure(error)

    @staticmethod
    def answer(outcome: Result | Failure) -> HttpResponse:
        if isinstance(outcome, Failure):
            response = error_response(outcome.error)
        elif outcome.shown_once:  # the logged answer without them, this once with them
            body = outcome.body()
            body["data"] = {**body["data"], **outcome.shown_once}
            response = HttpResponse(
                JSONRenderer().render(body), status=outcome.status, content_type="application/json"
            )
        else:  # rendered once, when the inbound log recorded it
            response = HttpResponse(
                outcome.sent, status=outcome.status, content_type="application/json"
            )
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _prefers_async(request) -> bool:
    """RFC 7240: `Prefer: respond-async`, among other preferences or alone."""
    preferences = request.headers.get("Prefer", "").replace(",", ";").split(";")
    return any(preference.strip().lower() == "respond-async" for preference in preferences)
