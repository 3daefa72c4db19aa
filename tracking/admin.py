from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin
from orders.admin import ReadOnlyInline
from orders.models import Shipment
from tracking.models import TrackingEvent
from tracking.polling import shipment_refresh_summary


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = [
        "occurred_at", "status", "status_detail", "description", "city", "state", "country",
        "exception_code", "source", "raw_code", "raw_description",
    ]  # fmt: skip


@admin.register(Shipment)
class ShipmentAdmin(MerchantScopedAdmin):
    list_display = [
        "tracking_number", "carrier", "merchant", "order", "status", "is_delayed",
        "last_checked_at", "next_check_at", "last_error",
    ]  # fmt: skip
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
    actions = ["refresh_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_refresh_permission(self, request) -> bool:
        return self.has_view_permission(request)  # agents may ask a carrier again, too

    @admin.action(description=_("Refresh tracking now"), permissions=["refresh"])
    def refresh_selected(self, request, queryset):
        for shipment in queryset[:20]:  # a bounded number of carrier calls per click
            summary = shipment_refresh_summary(shipment)
            level = messages.SUCCESS if summary.ran and summary.tracked else messages.WARNING
            self.message_user(request, summary.text, level)
