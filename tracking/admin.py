from django.contrib import admin

from merchants.admin import MerchantScopedAdmin
from orders.admin import ReadOnlyInline
from orders.models import Shipment
from tracking.models import CarrierAccount, TrackingEvent


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


@admin.register(CarrierAccount)
class CarrierAccountAdmin(MerchantScopedAdmin):
    """A merchant's own carrier credentials (platform credentials come from the environment)."""

    editable_by_merchant_admins = True
    list_display = ["merchant", "carrier", "client_id", "requests_per_minute", "is_active"]
    list_filter = ["carrier", ("merchant", admin.RelatedOnlyFieldListFilter)]
    fields = [
        "merchant", "carrier", "client_id", "secret", "base_url", "requests_per_minute",
        "is_active",
    ]  # fmt: skip

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "secret":
            field.widget = admin.widgets.AdminTextInputWidget(attrs={"type": "password"})
        return field
