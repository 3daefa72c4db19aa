"""The onboarding console: flexEngage staff set up merchants; merchant users see only theirs."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import Status
from flextracker.urlguard import WEB, Target, check_url
from merchants.models import (
    COLOR_FIELDS,
    ApiKey,
    BrandingTemplate,
    DeliveryProvider,
    Membership,
    MembershipRole,
    Merchant,
    NotificationChannel,
    NotificationTrigger,
    PickupLocation,
    ReturnPolicy,
    ReturnReason,
)
from merchants.selectors import (
    membership_roles,
    merchants_visible_to,
    notification_triggers,
    user_sees_all_merchants,
)
from merchants.services import (
    api_key_revoke,
    api_key_store,
    branding_template_save,
    logo_reencode,
    membership_grant,
    merchant_save,
    notification_rules_set,
    return_policy_save,
    return_reason_delete,
    return_reason_save,
)

admin.site.site_header = "flexTracker console"
admin.site.site_url = "/console/"  # "View site": the customer-service console
admin.site.site_title = "flexTracker"
admin.site.index_title = "Merchants, orders and tracking"


def _member_roles(request: HttpRequest) -> set[str]:
    # The admin asks for permissions many times per page: look the roles up once per request.
    if not hasattr(request, "_merchant_roles"):
        request._merchant_roles = membership_roles(request.user)
    return request._merchant_roles


class MerchantScopedAdmin(admin.ModelAdmin):
    """Rows reach their merchant through `merchant_path`; merchant users see only their own.

    flexEngage staff (permission `access_all_merchants`) keep Django's model permissions.
    Merchant users: both roles may view; merchant admins may also edit where
    `editable_by_merchant_admins` is set.
    """

    merchant_path = "merchant"
    editable_by_merchant_admins = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if user_sees_all_merchants(request.user):
            return queryset
        return queryset.filter(**{f"{self.merchant_path}__in": merchants_visible_to(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Merchant:
            kwargs["queryset"] = merchants_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _member_may(self, request: HttpRequest, *, write: bool) -> bool:
        roles = _member_roles(request)
        if not roles:
            return False
        return not write or (self.editable_by_merchant_admins and MembershipRole.ADMIN in roles)

    def has_module_permission(self, request):
        if user_sees_all_merchants(request.user):
            return super().has_module_permission(request)
        return self._member_may(request, write=False)

    def has_view_permission(self, request, obj=None):
        if user_sees_all_merchants(request.user):
            return super().has_view_permission(request, obj)
        return self._member_may(request, write=False)

    def has_add_permission(self, request):
        if user_sees_all_merchants(request.user):
            return super().has_add_permission(request)
        return self._member_may(request, write=True)

    def has_change_permission(self, request, obj=None):
        if user_sees_all_merchants(request.user):
            return super().has_change_permission(request, obj)
        return self._member_may(request, write=True)

    def has_delete_permission(self, request, obj=None):
        if user_sees_all_merchants(request.user):
            return super().has_delete_permission(request, obj)
        return self._member_may(request, write=True)


class MerchantScopedInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return self.admin_site._registry[Merchant].has_change_permission(request, obj)

    has_change_permission = has_delete_permission = has_add_permission

    def has_view_permission(self, request, obj=None):
        return self.admin_site._registry[Merchant].has_view_permission(request, obj)


# What a Slack or Teams channel may follow: shipment moves (order events are the customer's).
STATUS_TRIGGERS = [(value, label) for value, label in NotificationTrigger.choices
                   if value in Status.values]  # fmt: skip


def _trigger_field(label: str, choices=NotificationTrigger.choices) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


def checked_url(form: forms.ModelForm, name: str, target: Target = WEB) -> str:
    """A URL we will connect to, checked by the SSRF guard when it is typed or changed (the
    guard checks it again at every connection)."""
    url = form.cleaned_data[name].strip()
    if url and name in form.changed_data:
        problems = check_url(url, target)
        if problems:
            raise ValidationError(problems)
    return url


class MerchantForm(forms.ModelForm):
    email_triggers = _trigger_field(_("Email the customer when"))
    sms_triggers = _trigger_field(_("Text the customer when"))
    slack_triggers = _trigger_field(
        _("Also post to Slack when a shipment becomes"), STATUS_TRIGGERS
    )
    teams_triggers = _trigger_field(
        _("Also post to Teams when a shipment becomes"), STATUS_TRIGGERS
    )

    class Meta:
        model = Merchant
        fields = [
            "merchant_id", "name", "is_active", "time_zone", "locale", "support_email",
            "support_phone", "support_url", "email_notifications_enabled",
            "sms_notifications_enabled", "verify_customer", "tracking_link_lifetime_days",
            "alert_emails", "slack_webhook_url", "teams_webhook_url",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for channel in NotificationChannel:
                self.fields[f"{channel}_triggers"].initial = notification_triggers(
                    self.instance, channel
                )
        else:
            for channel in NotificationChannel:
                self.fields.pop(f"{channel}_triggers")

    def clean_slack_webhook_url(self) -> str:
        return checked_url(self, "slack_webhook_url")

    def clean_teams_webhook_url(self) -> str:
        return checked_url(self, "teams_webhook_url")


class DeliveryProviderInline(MerchantScopedInline):
    model = DeliveryProvider


class PickupLocationInline(MerchantScopedInline):
    model = PickupLocation
    template = "admin/edit_inline/stacked.html"  # too many fields for one row
    fields = ["external_id", "name", "contact_name", "contact_phone", "street1", "street2",
              "city", "state", "postal_code", "country_code", "latitude", "longitude",
              "instructions", "time_zone"]  # fmt: skip


class MembershipInline(MerchantScopedInline):
    model = Membership
    raw_id_fields = ["user"]

    def has_view_permission(self, request, obj=None):
        return user_sees_all_merchants(request.user)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    form = MerchantForm
    merchant_path = "id"
    editable_by_merchant_admins = True
    list_display = [
        "merchant_id", "name", "is_active", "api_keys_link", "templates_link", "returns_link"
    ]  # fmt: skip
    list_filter = ["is_active"]
    search_fields = ["merchant_id", "name"]
    inlines = [DeliveryProviderInline, PickupLocationInline, MembershipInline]

    def get_fieldsets(self, request, obj=None):
        customer_facing = ["time_zone", "locale", "verify_customer", "tracking_link_lifetime_days"]
        fieldsets = [
            (None, {"fields": ["merchant_id", "name", "is_active"]}),
            (_("Customer-facing"), {"fields": customer_facing}),
            (_("Support contacts"), {"fields": ["support_email", "support_phone", "support_url"]}),
            (
                _("Customer notifications"),
                {"fields": ["email_notifications_enabled", "sms_notifications_enabled"]},
            ),
            (
                _("Staff alerts"),
                {"fields": ["alert_emails", "slack_webhook_url", "teams_webhook_url"]},
            ),
        ]
        if obj is not None:
            fieldsets[3][1]["fields"] = [
                *fieldsets[3][1]["fields"],
                "email_triggers",
                "sms_triggers",
            ]
            fieldsets[4][1]["fields"] = [
                *fieldsets[4][1]["fields"],
                "slack_triggers",
                "teams_triggers",
            ]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return ["merchant_id"] if obj is not None else []

    def has_add_permission(self, request):
        return user_sees_all_merchants(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return user_sees_all_merchants(request.user) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        merchant_save(merchant=obj, is_new=not change)
        for channel in NotificationChannel:
            if f"{channel}_triggers" in form.cleaned_data:
                notification_rules_set(
                    merchant=obj, channel=channel, triggers=form.cleaned_data[f"{channel}_triggers"]
                )

    @admin.display(description=_("API keys"))
    def api_keys_link(self, merchant: Merchant) -> str:
        url = reverse("admin:merchants_apikey_changelist") + f"?merchant__id__exact={merchant.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Keys"))

    @admin.display(description=_("Branding"))
    def templates_link(self, merchant: Merchant) -> str:
        url = (
            reverse("admin:merchants_brandingtemplate_changelist")
            + f"?merchant__id__exact={merchant.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, _("Templates"))

    @admin.display(description=_("Returns"))
    def returns_link(self, merchant: Merchant) -> str:
        url = (
            reverse("admin:merchants_returnpolicy_changelist")
            + f"?merchant__id__exact={merchant.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, _("Return policy"))


@admin.register(ApiKey)
class ApiKeyAdmin(MerchantScopedAdmin):
    editable_by_merchant_admins = True
    list_display = [
        "prefix", "name", "style", "merchant", "created_at", "last_used_at", "revoked_at"
    ]  # fmt: skip
    list_filter = [("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["prefix", "name", "merchant__merchant_id"]
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["merchant", "name", "style"]
        return [
            "merchant",
            "name",
            "style",
            "prefix",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        request._issued_api_key = api_key_store(api_key=obj)

    def response_add(self, request, obj, post_url_continue=None):
        # The key is rendered straight into this response, never into a redirect or a message.
        context = {
            **self.admin_site.each_context(request),
            "api_key": obj,
            "raw_key": request._issued_api_key,
            "opts": self.opts,
            "title": _("New API key"),
        }
        response = TemplateResponse(request, "admin/merchants/apikey/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected keys (takes effect at once)"))
    def revoke_selected(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, _("%d key(s) revoked.") % queryset.count(), messages.SUCCESS)


class BrandingTemplateForm(forms.ModelForm):
    logo_file = forms.FileField(
        label=_("Logo file"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP up to 2 MB; we resize it to fit 600×200."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the uploaded logo"), required=False)

    class Meta:
        model = BrandingTemplate
        exclude = ["logo_png"]  # noqa: DJ006 - the admin's fieldsets name every field shown
        widgets = {field: forms.TextInput(attrs={"type": "color"}) for field in COLOR_FIELDS}

    def clean_logo_url(self) -> str:
        url = self.cleaned_data["logo_url"]
        if url and not url.startswith("https://"):
            raise ValidationError(_("The logo address must start with https://."))
        return url

    def clean_logo_file(self) -> bytes | None:
        upload = self.cleaned_data.get("logo_file")
        return logo_reencode(upload.read()) if upload else None


@admin.register(BrandingTemplate)
class BrandingTemplateAdmin(MerchantScopedAdmin):
    form = BrandingTemplateForm
    editable_by_merchant_admins = True
    list_display = ["name", "merchant", "is_default", "preview_link"]
    list_filter = [("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "merchant__merchant_id", "merchant__name"]
    fieldsets = [
        (None, {"fields": ["merchant", "name", "is_default"]}),
        (_("Logo"), {"fields": ["logo_file", "remove_logo", "logo_url", "logo_alt_text"]}),
        (_("Look"), {"fields": [*COLOR_FIELDS, "font"]}),
        (_("Text"), {"fields": ["header_text", "footer_text"]}),
        (
            _("Support"),
            {"fields": ["support_email", "support_phone", "support_url", "returns_url"]},
        ),
        (
            _("Sections to show"),
            {
                "fields": [
                    "show_items",
                    "show_timeline",
                    "show_estimated_delivery",
                    "show_support",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("logo_file"):
            obj.logo_png = form.cleaned_data["logo_file"]
        elif form.cleaned_data.get("remove_logo"):
            obj.logo_png = None
        branding_template_save(template=obj)

    @admin.display(description=_("Preview"))
    def preview_link(self, template: BrandingTemplate) -> str:
        # The page belongs to the orders app; linking by URL name keeps imports one-way.
        url = reverse("branding_template_preview", args=[template.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("Preview page"))


def _label_field_name(language: str) -> str:
    return f"label_{language.replace('-', '_')}"


class ReturnReasonFormBase(forms.ModelForm):
    """A reason with one label field per page language (settings.LANGUAGES), kept in `labels`;
    the default language's is required (the others fall back to it)."""

    class Meta:
        model = ReturnReason
        fields = ["code", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for language, _name in settings.LANGUAGES:
            self.initial.setdefault(
                _label_field_name(language), self.instance.labels.get(language, "")
            )

    def clean(self):
        data = super().clean()
        labels = {language: (data.get(_label_field_name(language)) or "").strip()
                  for language, _name in settings.LANGUAGES}  # fmt: skip
        if not labels[settings.LANGUAGE_CODE]:
            self.add_error(
                _label_field_name(settings.LANGUAGE_CODE),
                _("Required: the other languages fall back to it."),
            )
        self.instance.labels = {language: label for language, label in labels.items() if label}
        return data


ReturnReasonForm = type(
    "ReturnReasonForm",
    (ReturnReasonFormBase,),
    {
        _label_field_name(language): forms.CharField(
            label=format_lazy("{} ({})", _("Label"), name), max_length=200, required=False
        )
        for language, name in settings.LANGUAGES
    },
)


class ReturnReasonInline(admin.StackedInline):
    model = ReturnReason
    form = ReturnReasonForm
    extra = 0

    def _policy_admin(self):
        return self.admin_site._registry[ReturnPolicy]

    def has_add_permission(self, request, obj=None):
        return self._policy_admin().has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._policy_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._policy_admin().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return self._policy_admin().has_view_permission(request, obj)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(MerchantScopedAdmin):
    """What the merchant's customers may return, edited by the merchant's admins."""

    editable_by_merchant_admins = True
    list_display = ["merchant", "is_enabled", "window_days", "exchange_allowed", "approval"]
    list_filter = ["is_enabled"]
    search_fields = ["merchant__merchant_id", "merchant__name"]
    inlines = [ReturnReasonInline]
    fieldsets = [
        (None, {"fields": ["merchant", "is_enabled"]}),
        (
            _("What may come back"),
            {"fields": ["window_days", "not_returnable_patterns", "exchange_allowed"]},
        ),
        (_("How"), {"fields": ["approval", "shipping", "shipping_instructions"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["merchant"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        return_policy_save(policy=obj)

    def save_formset(self, request, form, formset, change):
        reasons = formset.save(commit=False)
        for reason in formset.deleted_objects:
            return_reason_delete(reason=reason)
        for reason in reasons:
            return_reason_save(reason=reason)


def write_only_field(label, help_text="") -> forms.CharField:
    """A secret the page never sends back to the browser; its form cleans it with `kept_secret`."""
    keep_blank = _("Write-only: never shown back. Leave blank to keep the current one.")
    return forms.CharField(
        label=label,
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text=format_lazy("{} {}", help_text, keep_blank) if help_text else keep_blank,
    )


def kept_secret(form: forms.ModelForm, name: str, required) -> str:
    """A write-only field's value: what was typed, else what is stored; `required` when neither."""
    value = form.cleaned_data[name].strip() or getattr(form.instance, name)
    if not value:
        raise ValidationError(required)
    return value


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Who may use the console for which merchant; flexEngage staff only."""

    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "merchant__merchant_id"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change):
        membership_grant(user=obj.user, merchant=obj.merchant, role=obj.role)


# --- OMS channels: Shopify shops and queues ------------------------------------------------------
