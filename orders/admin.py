from django.contrib import admin

from merchants.admin import MerchantScopedAdmin
from notifications.admin import NotificationInline
from orders.models import LineItem, Order


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
