"""The admin of shipments with their tracking events (refresh), and of carrier accounts (secrets
write-only)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import EventSource
from merchants.admin import MerchantScopedAdmin, checked_url, kept_secret, write_only_field
from merchants.selectors import (
    user_sees_all_merchants,
)
from orders.admin import ReadOnlyInline
from orders.models import Shipment
from tracking.models import (
    AggregatorRoute,
    CarrierAccount,
    PushMessage,
    RegistrationState,
    TrackingEvent,
)
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
    readonly_fields = ["updates_from", *[field.name for field in Shipment._meta.fields]]
    inlines = [TrackingEventInline]
    show_full_result_count = False
    actions = ["refresh_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Updates come from"))
    def updates_from(self, shipment: Shipment) -> str:
        return shipment_updates_from(shipment)

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


def shipment_updates_from(shipment: Shipment) -> str:
    """Where the shipment's news comes from, in a sentence for staff."""
    registration = getattr(shipment, "aggregator_registration", None)
    last_push = (
        shipment.events.filter(source=EventSource.PUSH).order_by("-created_at")
        .values_list("created_at", flat=True).first()
    )  # fmt: skip
    if registration is not None and registration.last_push_at:
        last_push = max(filter(None, (last_push, registration.last_push_at)))
    pushed = (
        _("last push at %(at)s") % {"at": f"{last_push:%Y-%m-%d %H:%M} UTC"} if last_push else ""
    )
    if registration is None:
        said = _("Polled from the carrier")
    elif registration.state == RegistrationState.REGISTERED:
        said = _("Registered with %(aggregator)s at %(at)s; polled every few hours as a check") % {
            "aggregator": registration.get_aggregator_display(),
            "at": f"{registration.registered_at:%Y-%m-%d %H:%M} UTC",
        }
    elif registration.state == RegistrationState.PENDING:
        said = _("Registering with %(aggregator)s (attempt %(n)s; %(error)s); polled meanwhile") % {
            "aggregator": registration.get_aggregator_display(),
            "n": registration.attempts + 1, "error": registration.last_error or _("not tried yet"),
        }  # fmt: skip
    else:
        said = _("%(aggregator)s refused the registration (%(error)s); polled") % {
            "aggregator": registration.get_aggregator_display(), "error": registration.last_error,
        }  # fmt: skip
    return f"{said}; {pushed}" if pushed else str(said)


class AggregatorRouteForm(forms.ModelForm):
    api_key = write_only_field(_("API key"))

    class Meta:
        model = AggregatorRoute
        fields = ["merchant", "carrier", "aggregator", "api_key", "is_active"]

    def clean_api_key(self) -> str:
        return kept_secret(self, "api_key", _("Required: the aggregator asks for it."))


@admin.register(AggregatorRoute)
class AggregatorRouteAdmin(MerchantScopedAdmin):
    """A merchant's carrier followed through their own aggregator account (the platform's
    routes come from the environment: AGGREGATOR_ROUTES)."""

    form = AggregatorRouteForm
    editable_by_merchant_admins = True
    list_display = ["merchant", "carrier", "aggregator", "is_active", "updated_at"]
    list_filter = ["aggregator", "carrier", ("merchant", admin.RelatedOnlyFieldListFilter)]


@admin.register(PushMessage)
class PushMessageAdmin(admin.ModelAdmin):
    """The pushes aggregators sent (flexEngage staff: a push belongs to no one merchant)."""

    list_display = [
        "received_at", "aggregator", "event", "tracking_number", "outcome", "response_status",
        "error_code", "shipments_updated",
    ]  # fmt: skip
    list_filter = ["aggregator", "outcome"]
    search_fields = ["tracking_number"]
    readonly_fields = [*list_display, "reason", "body_text"]
    exclude = ["body"]

    @admin.display(description=_("body"))
    def body_text(self, message: PushMessage) -> str:
        return bytes(message.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return user_sees_all_merchants(request.user)

    def has_view_permission(self, request, obj=None):
        return user_sees_all_merchants(request.user)
