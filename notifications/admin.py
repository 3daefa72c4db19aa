from django.contrib import admin

from merchants.admin import MerchantScopedAdmin
from notifications.models import Notification, NotificationAttempt, WebhookEndpoint


class NotificationAttemptInline(admin.TabularInline):
    model = NotificationAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempted_at", "succeeded", "response_status", "duration_ms", "error"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(MerchantScopedAdmin):
    list_display = ["created_at", "merchant", "channel", "recipient", "trigger", "status"]
    list_filter = ["status", "channel", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["recipient", "order__order_id"]
    list_select_related = ["merchant"]
    readonly_fields = [field.name for field in Notification._meta.fields]
    inlines = [NotificationAttemptInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MerchantScopedAdmin):
    list_display = ["url", "merchant", "is_active", "consecutive_failures", "created_at"]
    list_filter = ["is_active", ("merchant", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_at"]
    exclude = ["secret"]

    def has_add_permission(self, request):
        return False  # subscriptions are made through the API, which shows the secret once
