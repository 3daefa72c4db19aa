"""Base views: every POST of an OMS message is logged raw, idempotent, and answered in the
envelope; handlers only validate, call one service and say what to answer."""

import threading
from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from flextracker.api import api_error_for, error_response, validation_error
from merchants.models import Merchant
from orders.models import InboundChannel, InboundMessage
from orders.services.inbound import (
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


class MerchantApi(APIView):
    """Authenticated by API key; `entity` names the error codes (MISSING_<ENTITY>_DATA …)."""

    permission_classes = [IsAuthenticated]
    entity: ClassVar[str] = "ORDER"
    not_found_code: ClassVar[str] = "ORDER_NOT_FOUND"

    def merchant(self) -> Merchant:
        return self.request.user.merchant

    def validated(self, serializer_class: type[serializers.Serializer], data) -> dict:
        try:  # valid data, the common case: one bound serializer per class (see _validator)
            return _validator(serializer_class).run_validation(data)
        except serializers.ValidationError:
            pass
        serializer = serializer_class(data=data)
        if not serializer.is_valid():
            raise validation_error(serializer.errors, self.entity)
        return serializer.validated_data


class InputSerializer(serializers.Serializer):
    """A message's shape. Validated by one reused instance (see _validator), so the fields it
    fills are listed once, not filtered again for every payload and every nested object."""

    @cached_property
    def _writable_fields(self) -> list[serializers.Field]:
        return [field for field in self.fields.values() if not field.read_only]


_validators = threading.local()


def _validator(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """A serializer instance reused for every payload, as ListSerializer reuses its child:
    DRF deep-copies a serializer's fields each time one is made, which cost more than the
    validation itself in a batch of 500 events. Per thread; errors still take the usual path."""
    cache = _validators.__dict__.setdefault("by_class", {})
    if serializer_class not in cache:
        cache[serializer_class] = serializer_class()
    return cache[serializer_class]


class InboundApi(MerchantApi):
    """A POST carrying an OMS message. Subclasses define `handle(merchant, payload, **kwargs)`;
    those that define `queued` too (its change, parsed without the database) also take
    `Prefer: respond-async` (RFC 7240): 202 at once, applied by the worker (orders/api/queued.py).
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
            error = api_error_for(exc, self)
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
