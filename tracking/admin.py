"""The admin of shipments with their tracking events (refresh), and of carrier accounts (secrets
write-only)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin, checked_url, kept_secret, write_only_field
from merchants.selectors import (
    user_sees_all_merchants,
)
from orders.admin import ReadOnlyInline
from orders.models import Shipment
from tracking.models import CarrierAccount, TrackingEvent
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


class CarrierAccountForm(forms.ModelForm):
    secret = write_only_field(_("client secret / password / API key"))
    # Our workers send the secret to this address: only flexEngage staff may choose one (the
    # admin sets this per request).
    may_change_base_url = False

    class Meta:
        model = CarrierAccount
        fields = [
            "merchant", "carrier", "client_id", "secret", "base_url", "requests_per_minute",
            "is_active",
        ]  # fmt: skip
        help_texts = {
            "base_url": _("Blank: the carrier's production API. Only flexEngage staff may set "
                          "another address, and only a public one.")
        }  # fmt: skip

    def clean_secret(self) -> str:
        return kept_secret(self, "secret", _("Required: the carrier asks for it on every call."))

    def clean_base_url(self) -> str:
        url = self.cleaned_data["base_url"].strip()
        if url and "base_url" in self.changed_data and not self.may_change_base_url:
            raise ValidationError(
                _("Only flexEngage staff can point an account at another API address; leave it "
                  "blank for the carrier's production API.")
            )  # fmt: skip
        return checked_url(self, "base_url")


@admin.register(CarrierAccount)
class CarrierAccountAdmin(MerchantScopedAdmin):
    """A merchant's own carrier credentials (platform credentials come from the environment)."""

    form = CarrierAccountForm
    editable_by_merchant_admins = True
    list_display = ["merchant", "carrier", "client_id", "requests_per_minute", "is_active"]
    list_filter = ["carrier", ("merchant", admin.RelatedOnlyFieldListFilter)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.may_change_base_url = user_sees_all_merchants(request.user)
        return form
