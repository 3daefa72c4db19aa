"""The console page where merchants word their own customer emails and SMS, with a preview."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from merchants.admin import MerchantScopedAdmin
from merchants.models import NotificationTrigger
from notifications.messages import (
    PLACEHOLDERS,
    MessageContext,
    message_language,
    render_email_for,
    render_sms_for,
)
from notifications.models import MessageTemplate

PLACEHOLDER_HELP = format_lazy(
    "{} {} {}",
    _("Plain text; a blank line starts a new paragraph. These words in braces are replaced:"),
    " ".join(f"{{{name}}}" for name in PLACEHOLDERS),
    _("The tracking button, the items, the estimated arrival and the unsubscribe link are "
      "added to every email."),
)  # fmt: skip


class MessageTemplateForm(forms.ModelForm):
    trigger = forms.ChoiceField(label=_("When"), choices=NotificationTrigger.choices)

    class Meta:
        model = MessageTemplate
        fields = ["merchant", "channel", "trigger", "subject", "body"]
        help_texts = {
            "subject": _("Email only; blank keeps our subject, in the customer's language."),
            "body": PLACEHOLDER_HELP,
        }


def sample_context(template: MessageTemplate) -> MessageContext:
    """A made-up shipment on its way, or delivered, to show what a customer would receive."""
    merchant = template.merchant
    return MessageContext(
        merchant=merchant,
        trigger=template.trigger,
        language=message_language("", merchant.locale),
        customer_name="Jane Doe",
        order_id="1001",
        tracking={
            "carrierName": "UPS",
            "trackingNumber": "1Z999AA10123456784",
            "status": "delivered",
            "estimatedDelivery": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "items": [
                {"itemId": "MUG", "name": "Blue mug", "quantity": 2},
                {"itemId": "TOWEL", "name": "Tea towel", "quantity": 1},
            ],
        },
        tracking_link=f"{settings.PUBLIC_BASE_URL}/orders/{merchant.merchant_id}/1001",
        unsubscribe_link=f"{settings.PUBLIC_BASE_URL}/unsubscribe/preview",
    )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(MerchantScopedAdmin):
    form = MessageTemplateForm
    editable_by_merchant_admins = True
    list_display = ["trigger", "channel", "merchant", "subject", "updated_at"]
    list_filter = ["channel", "trigger", ("merchant", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["merchant"]
    readonly_fields = ["preview"]

    @admin.display(description=_("Preview"))
    def preview(self, obj: MessageTemplate | None) -> str:
        if obj is None or obj.pk is None:
            return _("Save to see a preview.")
        context = sample_context(obj)
        if obj.channel == "sms":
            text = render_sms_for(context, obj)
            return format_html('<pre style="white-space:pre-wrap">{}</pre><p>{}</p>', text,
                               _("%(count)s characters") % {"count": len(text)})  # fmt: skip
        subject, text, html = render_email_for(context, obj)
        return format_html(
            '<p><strong>{}</strong> {}</p><pre style="white-space:pre-wrap;max-width:660px">{}'
            '</pre><iframe title="{}" sandbox srcdoc="{}" style="width:100%;max-width:660px;'
            'height:720px;border:1px solid #ccc"></iframe>',
            _("Subject:"), subject, text, _("Email preview"), escape(html),  # always: it is "safe"
        )  # fmt: skip
