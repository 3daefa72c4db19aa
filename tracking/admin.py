from django.contrib import admin

from merchants.admin import MerchantScopedAdmin
from orders.admin import ReadOnlyInline
from orders.models import Shipment
from tracking.models import TrackingEvent


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = [
        "occurred_at", "status", "status_detail", "description", "city", "state", "country",
        "exception_code", "source", "raw_code", "raw_description",
    ]  # fmt: skip


@admin.register(Shipment)
class ShipmentAdmin(MerchantScopedAdmin):
    list_display = ["tracking_number", "carrier", "merchant", "order", "status", "is_delayed"]
    list_filter = [
        "carrier",
        "status",
        "is_delayed",
        ("merchant", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["tracking_number", "order__order_id"]
    list_select_related = ["merchant", "order"]
    readonly_fields = [field.name for field in Shipment._meta.fields]
    inlines = [TrackingEventInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
