"""GET /messages and /messages/{id}: the messages a merchant posted to the API, where each is and
what it was answered — how an OMS follows one it sent with `Prefer: respond-async` (202)."""

import json

from django.db.models import Case, F, When
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers

from flextracker.api.envelope import EnvelopePaginationParameters, paginated, success
from flextracker.api.views import InputSerializer, MerchantApi
from flextracker.errors import NotFound
from flextracker.openapi import documented
from inbound.models import InboundChannel, InboundMessage, InboundOutcome
from inbound.services import message_json

TAGS = ["Messages"]
STATUSES = [InboundOutcome.QUEUED, InboundOutcome.ACCEPTED, InboundOutcome.REJECTED,
            InboundOutcome.FAILED]  # fmt: skip


class MessageAnswerSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status it had, or would have had.")
    body = serializers.DictField(
        required=False, help_text="The envelope it had, or would have had (one message only)."
    )
    error = serializers.DictField(
        required=False, help_text="In a list, a refused message's error (as in the envelope)."
    )


class MessageOutputSerializer(serializers.Serializer):
    messageId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[*STATUSES, InboundOutcome.RECEIVED],
        help_text="`queued`: waiting for the worker; `accepted` / `rejected`: applied, or "
        "refused for its data (fix and send again); `failed`: our side failed (send again).",
    )
    method = serializers.CharField()
    path = serializers.CharField()
    orderId = serializers.CharField(allow_null=True)
    receivedAt = serializers.DateTimeField()
    processedAt = serializers.DateTimeField(allow_null=True)
    statusUrl = serializers.CharField()
    response = MessageAnswerSerializer(allow_null=True, help_text="null while queued.")


class MessageListQuery(InputSerializer):
    status = serializers.ChoiceField(choices=STATUSES, required=False, allow_blank=True)


def _messages(merchant):
    return InboundMessage.objects.filter(merchant=merchant, channel=InboundChannel.API)


@extend_schema_view(
    get=documented(
        summary="The messages posted to the API, newest first",
        description="`status=rejected` lists those refused for their data, say; each carries "
        "the answer it had (or, sent with `Prefer: respond-async`, would have had).",
        responses={200: MessageOutputSerializer},
        many=True,
        paginated=True,
        errors=("INVALID_MESSAGE_DATA",),
        parameters=[MessageListQuery, EnvelopePaginationParameters],
        tags=TAGS,
        operation_id="message_list",
    )
)
class MessagesApi(MerchantApi):
    entity = "MESSAGE"

    def get(self, request):
        query = self.validated(MessageListQuery, request.query_params)
        refused = [InboundOutcome.REJECTED, InboundOutcome.FAILED]
        messages = (
            _messages(self.merchant())
            .defer("body", "response_body")  # a batch's answer is half a megabyte
            .annotate(refusal=Case(When(outcome__in=refused, then=F("response_body"))))
        )
        if query.get("status"):
            messages = messages.filter(outcome=query["status"])
        return paginated(request, messages.order_by("-received_at", "-id"), _listed)


def _listed(message: InboundMessage) -> dict:
    """A message in a list: its answer's status, and a refused one's error (GET the message
    for the whole answer)."""
    data = message_json(message, with_answer=False)
    if message.refusal:
        data["response"]["error"] = json.loads(message.refusal).get("error")
    return data


@extend_schema_view(
    get=documented(
        summary="One message posted to the API: where it is, and its answer",
        description="The `Location` of a 202 answer (`Prefer: respond-async`). `response` is "
        "null while the message is queued; then it holds the status and envelope the endpoint "
        "answered.",
        responses={200: MessageOutputSerializer},
        errors=("MESSAGE_NOT_FOUND",),
        tags=TAGS,
        operation_id="message_get",
    )
)
class MessageDetailApi(MerchantApi):
    not_found_code = "MESSAGE_NOT_FOUND"

    def get(self, request, message_id: str):
        message = None
        if message_id.isdigit() and len(message_id) < 19:  # a bigint
            message = _messages(self.merchant()).filter(pk=int(message_id)).first()
        if message is None:
            raise NotFound(f"Message {message_id} was not found.", code="MESSAGE_NOT_FOUND")
        return success(message_json(message))
