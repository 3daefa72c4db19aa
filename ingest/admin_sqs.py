"""“Create an SQS queue for this merchant” (the merchant's page in the console): flexEngage staff
only, since it creates resources in the platform's AWS account. Wired into QueueSourceAdmin."""

import json
import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ingest.channels.sqs_create import OMS_PRINCIPAL_PATTERN, SqsCreateFailed, sqs_queue_create
from ingest.models import FormatDictionary
from merchants.selectors import merchants_visible_to, user_sees_all_merchants

logger = logging.getLogger(__name__)


class SqsQueueCreateForm(forms.Form):
    dictionary = forms.ModelChoiceField(
        queryset=FormatDictionary.objects.none(), required=False,
        label=_("Format dictionary"),
        empty_label=_("None: their messages already are our event envelope (API.md /events)"),
    )  # fmt: skip
    oms_principal = forms.CharField(
        required=False, max_length=600, label=_("The OMS's AWS account or IAM role (optional)"),
        help_text=_("If their OMS runs in their own AWS account: its 12-digit account id or the "
                    "role ARN (arn:aws:iam::123456789012:role/oms). The queue policy then lets "
                    "it send. Leave blank to attach the policy to a user of our account."),
        validators=[RegexValidator(f"^(?:{OMS_PRINCIPAL_PATTERN})$", _(
            "Give a 12-digit AWS account id or an IAM role or user ARN."))],
    )  # fmt: skip

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dictionary"].queryset = merchant.format_dictionaries.order_by("name")


def sqs_queue_create_view(model_admin, request, merchant_pk: int) -> TemplateResponse:
    if not (user_sees_all_merchants(request.user) and model_admin.has_add_permission(request)):
        raise PermissionDenied
    merchant = get_object_or_404(merchants_visible_to(request.user), pk=merchant_pk)
    form = SqsQueueCreateForm(request.POST or None, merchant=merchant)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = sqs_queue_create(
                merchant=merchant, dictionary=form.cleaned_data["dictionary"],
                oms_principal=form.cleaned_data["oms_principal"],
            )  # fmt: skip
        except SqsCreateFailed as error:
            logger.warning("SQS queue for %s not created: %s", merchant.merchant_id, error)
            model_admin.message_user(request, _("No queue was created. %s") % error, messages.ERROR)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Create an SQS queue for %s") % merchant, "opts": model_admin.opts,
        "merchant": merchant, "form": form, "created": created,
    }  # fmt: skip
    if created is not None:
        context["oms_policy"] = json.dumps(created.oms_policy, indent=2)
        context["queue_policy"] = json.dumps(created.queue_policy, indent=2)
    return TemplateResponse(request, "admin/ingest/queuesource/create_sqs.html", context)
