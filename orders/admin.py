from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin
from orders.models import InboundMessage, LineItem, Order


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
    inlines = [LineItemInline]
    readonly_fields = [field.name for field in Order._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(MerchantScopedAdmin):
    list_display = ["received_at", "merchant", "channel", "method", "path", "outcome", "error_code"]
    list_filter = ["outcome", "channel", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order_ref", "idempotency_key", "path"]
    list_select_related = ["merchant"]
    readonly_fields = [
        "merchant", "channel", "method", "path", "content_type", "body_text", "idempotency_key",
        "order_ref", "outcome", "response_status", "response_body", "error_code", "received_at",
        "processed_at", "replay_count",
    ]  # fmt: skip
    exclude = ["body", "request_hash"]
    show_full_result_count = False

    @admin.display(description=_("body"))
    def body_text(self, message: InboundMessage) -> str:
        return bytes(message.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
