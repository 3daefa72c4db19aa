"""The console's notification log (resend, test alerts) and merchant webhook subscriptions."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin
from merchants.models import MembershipRole, Merchant
from merchants.selectors import merchants_visible_to, user_sees_all_merchants
from notifications.admin_templates import MessageTemplateAdmin  # noqa: F401 - registers it
from notifications.models import Notification, NotificationAttempt, WebhookEndpoint
from notifications.services import (
    notification_resend,
    staff_alert_send_test,
    webhook_endpoint_send_test,
)
from notifications.webhook_health import webhook_endpoint_enable


def merchants_acted_on_by(request: HttpRequest) -> QuerySet[Merchant]:
    """Where the user may resend and send tests: every merchant for flexEngage staff who may
    change notifications; their own merchants for merchant admins (not agents)."""
    user = request.user
    if user_sees_all_merchants(user):
        may = user.has_perm("notifications.change_notification")
        return Merchant.objects.all() if may else Merchant.objects.none()
    return merchants_visible_to(user).filter(
        memberships__user=user, memberships__role=MembershipRole.ADMIN
    )


class NotificationInline(admin.TabularInline):
    """An order's notification log, on the order's console page (read-only)."""

    model = Notification
    fk_name = "order"
    extra = 0
    can_delete = False
    show_change_link = True  # the attempts, and the resend action, are on the row's own page
    fields = [
        "created_at", "channel", "recipient", "trigger", "status", "attempts",
        "provider_message_id", "last_error", "sent_at",
    ]  # fmt: skip
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def has_view_permission(self, request, obj=None):
        # The order page is already the merchant's: the log follows the log's own permission.
        return self.admin_site._registry[Notification].has_view_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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

    actions = ["resend_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request) -> bool:
        return merchants_acted_on_by(request).exists()

    @admin.action(description=_("Resend selected notifications (as new messages)"),
                  permissions=["resend"])  # fmt: skip
    def resend_selected(self, request, queryset):
        made = skipped = 0
        for notification in queryset.filter(merchant__in=merchants_acted_on_by(request)):
            if notification_resend(notification=notification):
                made += 1
            else:
                skipped += 1
        self.message_user(request, _("%d message(s) queued again.") % made, messages.SUCCESS)
        if skipped:
            text = _("%d skipped: still waiting to be sent (or a copy of it is).") % skipped
            self.message_user(request, text, messages.WARNING)

    def get_urls(self):
        view = self.admin_site.admin_view(self.send_test_email_view)
        return [
            path("send-test-alert/", view, name="notifications_notification_send_test_email"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if self.has_resend_permission(request):
            url = reverse("admin:notifications_notification_send_test_email")
            extra_context = {**(extra_context or {}), "send_test_url": url}
        return super().changelist_view(request, extra_context)

    def send_test_email_view(self, request):
        """A test alert to a merchant's alert emails (and Slack and Teams), from the console."""
        merchants = merchants_acted_on_by(request)
        if not merchants.exists():
            raise PermissionDenied
        form = SendTestAlertForm(
            request.POST or None,
            merchants=merchants,
            initial={"merchant": request.GET.get("merchant")},
        )
        if request.method == "POST" and form.is_valid():
            merchant = form.cleaned_data["merchant"]
            rows = staff_alert_send_test(
                merchant=merchant, requested_by=request.user.get_username(),
                include_chat=form.cleaned_data["include_chat"],
            )  # fmt: skip
            if rows:
                text = _("Test alert queued to %s.") % ", ".join(row.recipient for row in rows)
                self.message_user(request, text, messages.SUCCESS)
            else:
                text = _("%s has no alert emails, Slack or Teams webhook yet.") % merchant.name
                self.message_user(request, text, messages.WARNING)
            changelist = reverse("admin:notifications_notification_changelist")
            return redirect(f"{changelist}?merchant__id__exact={merchant.pk}")
        context = {
            **self.admin_site.each_context(request),
            "form": form, "opts": self.opts, "title": _("Send a test alert"),
        }  # fmt: skip
        return TemplateResponse(
            request, "admin/notifications/notification/send_test_email.html", context
        )


class SendTestAlertForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.none())
    include_chat = forms.BooleanField(
        label=_("Also to the merchant's Slack and Teams webhooks"), required=False, initial=True
    )

    def __init__(self, *args, merchants: QuerySet[Merchant], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["merchant"].queryset = merchants


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(MerchantScopedAdmin):
    list_display = ["url", "merchant", "style", "is_active", "failing_since", "created_at"]
    list_filter = ["is_active", "style", ("merchant", admin.RelatedOnlyFieldListFilter)]
    readonly_fields = ["style", "is_active", "consecutive_failures", "failing_since",
                       "disable_warned_at", "disabled_at", "disabled_reason",
                       "created_at"]  # fmt: skip
    exclude = ["secret"]

    actions = ["send_test_event", "enable"]

    def has_add_permission(self, request):
        return False  # subscriptions are made through the API, which shows the secret once

    def has_send_test_permission(self, request) -> bool:
        return merchants_acted_on_by(request).exists()

    @admin.action(description=_("Send a test event (tracking.updated or shipment.in_transit, "
                                "with sample data)"),
                  permissions=["send_test"])  # fmt: skip
    def send_test_event(self, request, queryset):
        mine = queryset.filter(merchant__in=merchants_acted_on_by(request))
        for endpoint in mine.filter(is_active=True).select_related("merchant"):
            webhook_endpoint_send_test(endpoint=endpoint)
            text = _("Test event queued for %s; its delivery shows in the notification log.")
            self.message_user(request, text % endpoint.url, messages.SUCCESS)
        if skipped := mine.filter(is_active=False).count():
            text = _("%d disabled subscription(s) skipped.") % skipped
            self.message_user(request, text, messages.WARNING)

    def has_enable_permission(self, request) -> bool:
        return merchants_acted_on_by(request).exists()

    @admin.action(description=_("Switch back on (resume deliveries)"), permissions=["enable"])
    def enable(self, request, queryset):
        mine = queryset.filter(merchant__in=merchants_acted_on_by(request), is_active=False)
        for endpoint in mine:
            webhook_endpoint_enable(endpoint=endpoint)
            text = _("Deliveries to %s resume.")
            self.message_user(request, text % endpoint.url, messages.SUCCESS)
