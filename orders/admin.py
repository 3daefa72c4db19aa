import json

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin
from notifications.admin import NotificationInline
from orders.models import InboundMessage, InboundOutcome, LineItem, Order
from orders.services.inbound import Failure, inbound_replay


def _without_secrets(value):
    if isinstance(value, dict):
        return {k: "(hidden)" if k == "secret" else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LineItemInline(ReadOnlyInline):
    model = LineItem
    fields = [
        "item_id", "name", "quantity_ordered", "quantity_shipped", "quantity_cancelled",
        "quantity_backordered", "backorder_expected_date",
    ]  # fmt: skip


@admin.register(Order)
class OrderAdmin(MerchantScopedAdmin):
    """Orders come from the merchant's systems: the console shows them, it does not edit them."""

    list_display = ["order_id", "merchant", "status", "customer_email", "order_date", "updated_at"]
    list_filter = ["status", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order_id", "customer_email", "customer_name", "shipments__tracking_number"]
    list_select_related = ["merchant"]
    inlines = [LineItemInline, NotificationInline]
    readonly_fields = [field.name for field in Order._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(MerchantScopedAdmin):
    list_display = [
        "received_at", "merchant", "channel", "method", "path", "source", "outcome", "error_code",
    ]  # fmt: skip
    list_filter = ["outcome", "channel", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order_ref", "idempotency_key", "path", "source"]
    list_select_related = ["merchant"]
    readonly_fields = [
        "merchant", "channel", "method", "path", "source", "content_type", "body_text",
        "idempotency_key",
        "order_ref", "outcome", "response_status", "response_shown", "error_code", "received_at",
        "processed_at", "replay_count",
    ]  # fmt: skip
    exclude = ["body", "request_hash", "response_body"]
    show_full_result_count = False
    actions = ["replay_selected"]
    editable_by_merchant_admins = True

    @admin.display(description=_("response"))
    def response_shown(self, message: InboundMessage) -> str:
        """The stored answer, with secrets it handed out (webhook signing secrets) hidden."""
        return json.dumps(_without_secrets(message.response()), indent=2, ensure_ascii=False)

    @admin.display(description=_("body"))
    def body_text(self, message: InboundMessage) -> str:
        return bytes(message.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is what proves nothing was lost

    def has_change_permission(self, request, obj=None):
        return False

    def has_replay_permission(self, request) -> bool:
        # Replaying changes the merchant's data: flexEngage staff and merchant admins, not agents.
        return MerchantScopedAdmin.has_change_permission(self, request)

    @admin.action(
        description=_("Replay selected messages (after fixing the merchant's data)"),
        permissions=["replay"],
    )
    def replay_selected(self, request, queryset):
        left = [InboundOutcome.ACCEPTED, InboundOutcome.QUEUED]  # applied, or the worker's
        for message in queryset.exclude(outcome__in=left).select_related("merchant"):
            outcome = inbound_replay(message)
            if isinstance(outcome, Failure):
                text = _("Message %(id)s rejected again: %(code)s — %(message)s") % {
                    "id": message.pk, "code": outcome.error.code, "message": outcome.error.message,
                }  # fmt: skip
                self.message_user(request, text, messages.WARNING)
            else:
                self.message_user(request, _("Message %s accepted.") % message.pk, messages.SUCCESS)
        if skipped := queryset.filter(outcome__in=left).count():
            text = (
                _("%d accepted or queued message(s) skipped: replaying would apply them twice.")
                % skipped
            )
            self.message_user(request, text, messages.INFO)


import orders.channels.admin  # noqa: E402, F401 - registers the channel admins
