"""The base of every API view: authenticated by an API key, input validated into API.md's errors."""

import threading
from functools import cached_property
from typing import ClassVar

from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from flextracker.api.envelope import validation_error
from flextracker.api.style import request_style
from flextracker.replica import (
    SAFE_METHODS,
    merchant_client,
    replica_configured,
    replica_reads_begin,
    request_reads,
    writes_note,
)


class MerchantApi(APIView):
    """Authenticated by API key; `entity` names the error codes (MISSING_<ENTITY>_DATA …)."""

    permission_classes = [IsAuthenticated]
    entity: ClassVar[str] = "ORDER"
    not_found_code: ClassVar[str] = "ORDER_NOT_FOUND"
    # GETs that only read: answered from the replica when there is one (flextracker/replica.py)
    replica_reads: ClassVar[bool] = False

    def dispatch(self, request, *args, **kwargs):
        if not replica_configured():
            return super().dispatch(request, *args, **kwargs)
        with request_reads():
            response = super().dispatch(request, *args, **kwargs)
        merchant = getattr(self.request.user, "merchant", None)
        if request.method not in SAFE_METHODS and merchant is not None:
            writes_note([merchant_client(merchant.merchant_id)])
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.style = request_style(request)  # after authentication: the key's style
        if self.replica_reads and request.method in SAFE_METHODS:
            replica_reads_begin([merchant_client(self.merchant().merchant_id)])

    def merchant(self):  # merchants.models.Merchant (the kernel imports no app)
        return self.request.user.merchant

    def validated(self, serializer_class: type[serializers.Serializer], data) -> dict:
        return validated(serializer_class, data, self.entity)


def validated(serializer_class: type[serializers.Serializer], data, entity: str) -> dict:
    """`data` as the serializer validates it, or API.md's MISSING/INVALID_<ENTITY>_DATA error."""
    try:  # valid data, the common case: one bound serializer per class (see _validator)
        return _validator(serializer_class).run_validation(data)
    except serializers.ValidationError:
        pass
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise validation_error(serializer.errors, entity)
    return serializer.validated_data


WARNING_UNKNOWN_FIELD = "UNKNOWN_FIELD"


def unknown_field_warnings(
    serializer_class: type[serializers.Serializer], data, path: str = ""
) -> list[dict[str, str]]:
    """API.md "Unknown fields": one UNKNOWN_FIELD warning per field of `data` (found at `path`)
    its serializer does not know, by its path (`shippingAdress`, `lineItems[0].colour`); not an
    error, and the raw message keeps it. Free-form objects (a JSONField, a DictField:
    `attributes`) hold any key."""
    return [
        {"code": WARNING_UNKNOWN_FIELD, "field": unknown,
         "message": f"Unknown field {unknown} was ignored (the message as sent is kept)."}
        for unknown in _unknown(_validator(serializer_class), data, path)
    ]  # fmt: skip


def _unknown(field: serializers.Field, value, path: str) -> list[str]:
    """The paths under `path` that `field` does not know."""
    unknown: list[str] = []
    if isinstance(field, serializers.Serializer) and isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            known = field.fields.get(key)
            if known is None or known.read_only:
                unknown.append(inner)
            else:
                unknown += _unknown(known, item, inner)
    elif isinstance(field, serializers.ListSerializer | serializers.ListField) and isinstance(
        value, list
    ):
        for index, item in enumerate(value):
            unknown += _unknown(field.child, item, f"{path}[{index}]")
    return unknown


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
