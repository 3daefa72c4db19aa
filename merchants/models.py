import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carriers.vocabulary import Status
from flextracker.api.style import ApiStyle

MERCHANT_ID_PATTERN = r"^[A-Z]{2,6}-[0-9]{2}-[0-9]{5}$"
HEX_COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
TEMPLATE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

validate_merchant_id = RegexValidator(
    MERCHANT_ID_PATTERN,
    _("Use the form ABC-01-12345: 2–6 capital letters, 2 digits, 5 digits."),
)
validate_hex_color = RegexValidator(HEX_COLOR_PATTERN, _("Use a hex colour such as #1A2B3C."))
validate_template_name = RegexValidator(
    TEMPLATE_NAME_PATTERN, _("Letters, digits, '_' and '-' only (it appears in links).")
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone “%(value)s”."), params={"value": value})


class Locale(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"
    FR = "fr", "Français"
    DE = "de", "Deutsch"


class Merchant(models.Model):
    merchant_id = models.CharField(
        _("merchant ID"),
        max_length=20,
        unique=True,
        validators=[validate_merchant_id],
        help_text=_("Public ID used in links and by the merchant's systems, e.g. FDC-01-12345."),
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    locale = models.CharField(max_length=8, choices=Locale.choices, default=Locale.EN)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=32, blank=True)
    support_url = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    email_notifications_enabled = models.BooleanField(
        _("email customers"), default=True, help_text=_("Send customer emails for chosen statuses.")
    )
    sms_notifications_enabled = models.BooleanField(
        _("text customers"), default=False, help_text=_("Send SMS for chosen statuses.")
    )
    alert_emails = models.TextField(
        _("staff alert emails"),
        blank=True,
        help_text=_("Who hears about exceptions, failed attempts, returns and delays: one "
                    "address per line."),
    )  # fmt: skip
    slack_webhook_url = models.URLField(
        _("Slack incoming webhook"), blank=True, help_text=_("https://hooks.slack.com/services/…")
    )
    teams_webhook_url = models.URLField(
        _("Microsoft Teams incoming webhook"), blank=True, max_length=500
    )
    verify_customer = models.BooleanField(
        _("verify the customer"),
        default=False,
        help_text=_(
            "A tracking link without our signature shows nothing of the order until the "
            "customer enters its email or postal code. Links in our emails, texts and the API's "
            "links.trackingPage are signed and open directly for the link lifetime."
        ),
    )
    tracking_link_lifetime_days = models.PositiveSmallIntegerField(
        _("tracking link lifetime (days)"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_(
            "How long the signed tracking links in our emails, texts and API answers open the "
            "page directly. After that, with “verify the customer” on, the customer confirms "
            "the order's email or postal code."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("access_all_merchants", "Can see and act on every merchant")]
        constraints = [
            models.CheckConstraint(
                condition=Q(merchant_id__regex=MERCHANT_ID_PATTERN), name="merchant_id_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant_id})"

    @property
    def alert_email_list(self) -> list[str]:
        return [line.strip() for line in self.alert_emails.splitlines() if line.strip()]


class MembershipRole(models.TextChoices):
    ADMIN = "admin", _("Merchant admin")
    AGENT = "agent", _("Customer-service agent")


class Membership(models.Model):
    """A user's access to one merchant. flexEngage staff instead hold `access_all_merchants`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=MembershipRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.merchant.merchant_id} · {self.get_role_display()}"


class ApiKey(models.Model):
    """Only the SHA-256 of the key is stored; the key itself is shown once, at creation."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    style = models.CharField(
        max_length=16,
        choices=ApiStyle.choices,
        default=ApiStyle.NATIVE,
        help_text=_(
            "The vocabulary of its tracking answers; a request may name another in the "
            "FlexTracker-Style header."
        ),
    )

    class Meta:
        verbose_name = _("API key")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Font(models.TextChoices):
    SYSTEM = "system", _("System (clean sans-serif)")
    HELVETICA = "helvetica", "Helvetica / Arial"
    GEORGIA = "georgia", "Georgia (serif)"
    VERDANA = "verdana", "Verdana (wide, very legible)"
    TREBUCHET = "trebuchet", "Trebuchet MS"
    MONOSPACE = "monospace", _("Monospace")


FONT_STACKS = {
    Font.SYSTEM: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    Font.HELVETICA: '"Helvetica Neue", Helvetica, Arial, sans-serif',
    Font.GEORGIA: 'Georgia, "Times New Roman", serif',
    Font.VERDANA: "Verdana, Geneva, sans-serif",
    Font.TREBUCHET: '"Trebuchet MS", Tahoma, sans-serif',
    Font.MONOSPACE: 'ui-monospace, "SF Mono", Menlo, Consolas, monospace',
}


def _color_field(default: str, label: str) -> models.CharField:
    return models.CharField(label, max_length=7, default=default, validators=[validate_hex_color])


COLOR_FIELDS = ("primary_color", "accent_color", "background_color", "text_color")


class BrandingTemplate(models.Model):
    """How a merchant's customer page looks. Colours and fonts are tokens, never raw CSS."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(
        max_length=64,
        validators=[validate_template_name],
        help_text=_("Used in links as ?templateName=…, e.g. FDC_TEMPLATE."),
    )
    is_default = models.BooleanField(
        default=False, help_text=_("Used when a link names no template or an unknown one.")
    )
    # A PNG we re-encoded ourselves from the upload, served from /branding/<id>/logo.png.
    logo_png = models.BinaryField(null=True, blank=True, editable=False)
    logo_url = models.URLField(
        blank=True, help_text=_("Or an https address of the logo, when no file is uploaded.")
    )
    logo_alt_text = models.CharField(max_length=120, blank=True)
    primary_color = _color_field("#1F4E79", _("primary colour"))
    accent_color = _color_field("#2E7D32", _("accent colour"))
    background_color = _color_field("#FFFFFF", _("background colour"))
    text_color = _color_field("#1A1A1A", _("text colour"))
    font = models.CharField(max_length=16, choices=Font.choices, default=Font.SYSTEM)
    header_text = models.TextField(
        blank=True, help_text=_("Short text under the logo. Bold, italics and links allowed.")
    )
    footer_text = models.TextField(blank=True)
    support_email = models.EmailField(blank=True, help_text=_("Blank: the merchant's."))
    support_phone = models.CharField(max_length=32, blank=True)
    support_url = models.URLField(blank=True)
    returns_url = models.URLField(blank=True)
    show_items = models.BooleanField(_("show items"), default=True)
    show_timeline = models.BooleanField(_("show tracking history"), default=True)
    show_estimated_delivery = models.BooleanField(_("show estimated delivery"), default=True)
    show_support = models.BooleanField(_("show support contacts"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="template_name_unique"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_default=True), name="one_default_template"
            ),
            models.CheckConstraint(
                condition=Q(name__regex=TEMPLATE_NAME_PATTERN), name="template_name_format"
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{field}__regex": HEX_COLOR_PATTERN}), name=f"{field}_hex"
                )
                for field in COLOR_FIELDS
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def font_stack(self) -> str:
        return FONT_STACKS[Font(self.font)]


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    # The merchant's own team, on chosen status moves (staff alerts go there regardless).
    SLACK = "slack", _("Slack")
    TEAMS = "teams", _("Microsoft Teams")


class NotificationTrigger(models.TextChoices):
    """What can notify a customer: a shipment status (TRACKING.md) or an order event."""

    PRE_TRANSIT = Status.PRE_TRANSIT.value, Status.PRE_TRANSIT.label
    IN_TRANSIT = Status.IN_TRANSIT.value, Status.IN_TRANSIT.label
    OUT_FOR_DELIVERY = Status.OUT_FOR_DELIVERY.value, Status.OUT_FOR_DELIVERY.label
    AVAILABLE_FOR_PICKUP = Status.AVAILABLE_FOR_PICKUP.value, Status.AVAILABLE_FOR_PICKUP.label
    DELIVERED = Status.DELIVERED.value, Status.DELIVERED.label
    FAILED_ATTEMPT = Status.FAILED_ATTEMPT.value, Status.FAILED_ATTEMPT.label
    EXCEPTION = Status.EXCEPTION.value, Status.EXCEPTION.label
    RETURN_TO_SENDER = Status.RETURN_TO_SENDER.value, Status.RETURN_TO_SENDER.label
    CANCELLED = Status.CANCELLED.value, Status.CANCELLED.label
    ORDER_RECEIVED = "order_received", _("Order received")
    ITEMS_CANCELLED = "items_cancelled", _("Items cancelled")
    ITEMS_BACKORDERED = "items_backordered", _("Items backordered")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURN_APPROVED = "return_approved", _("Return approved")
    RETURN_REFUSED = "return_refused", _("Return refused")
    RETURN_LABEL_READY = "return_label_ready", _("Return label ready")
    RETURN_RECEIVED = "return_received", _("Return received")


class NotificationRule(models.Model):
    """A row means: tell the customer on this channel when this happens."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="notification_rules"
    )
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    trigger = models.CharField(max_length=32, choices=NotificationTrigger.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel", "trigger"], name="notification_rule_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} on {self.get_trigger_display()}"


class ReturnApproval(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    BY_AGENT = "agent", _("By an agent")


class ReturnShipping(models.TextChoices):
    """How the customer sends a return back."""

    INSTRUCTIONS = "instructions", _("The merchant's instructions")
    PREPAID_LABEL = "prepaid_label", _("A prepaid label from the merchant's system")
    DROP_OFF = "drop_off", _("Drop-off")


class ReturnPolicy(models.Model):
    """What a merchant's customers may return or exchange, and how (issue 25)."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, related_name="return_policy"
    )
    is_enabled = models.BooleanField(_("offer returns"), default=False)
    window_days = models.PositiveSmallIntegerField(
        _("return window (days after delivery)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    exchange_allowed = models.BooleanField(_("exchanges allowed"), default=False)
    approval = models.CharField(
        max_length=16, choices=ReturnApproval.choices, default=ReturnApproval.BY_AGENT
    )
    shipping = models.CharField(
        _("how the customer sends it back"),
        max_length=16,
        choices=ReturnShipping.choices,
        default=ReturnShipping.INSTRUCTIONS,
    )
    shipping_instructions = models.TextField(
        blank=True,
        help_text=_("The instructions, or where to drop it off. With a prepaid label: what to "
                    "do with it."),
    )  # fmt: skip
    not_returnable_patterns = models.TextField(
        _("items not returnable"),
        blank=True,
        help_text=_("One item ID pattern per line: * matches anything, e.g. GIFT-* or *-FINAL. "
                    "A line item the OMS sends with \"returnable\": false is never returnable."),
    )  # fmt: skip
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("return policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__gte=1, window_days__lte=365), name="return_window_days"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.merchant_id} returns"

    @property
    def not_returnable_pattern_list(self) -> list[str]:
        return [line.strip() for line in self.not_returnable_patterns.splitlines() if line.strip()]


class ReturnReason(models.Model):
    """A reason the customer picks; `labels` holds its wording per page language."""

    policy = models.ForeignKey(ReturnPolicy, on_delete=models.CASCADE, related_name="reasons")
    code = models.SlugField(max_length=40, help_text=_("Sent in the API and webhooks."))
    labels = models.JSONField(default=dict, blank=True)  # {"en": "Too small", "fr": …}
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="return_reason_unique"),
        ]

    def __str__(self) -> str:
        return self.label_in(settings.LANGUAGE_CODE)

    def label_in(self, language: str) -> str:
        """The label in `language`, else in the default language, else the code."""
        return self.labels.get(language) or self.labels.get(settings.LANGUAGE_CODE) or self.code


class DeliveryProvider(models.Model):
    """A delivery provider the merchant uses besides the carriers (own vans, a local courier).

    Trackers may name one instead of a carrier code (API.md `provider`, e.g. "Self Delivery").
    """

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="delivery_providers"
    )
    name = models.CharField(max_length=100)
    tracking_url_template = models.URLField(
        blank=True, help_text=_("Optional public tracking link; {number} is replaced.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="delivery_provider_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PickupLocation(models.Model):
    """Where the merchant's deliveries start (a store, a warehouse): trackers name one by
    `locationExternalId` (seed 001) instead of sending a `pickup` object each time."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="pickup_locations"
    )
    external_id = models.CharField(_("location external ID"), max_length=100)
    name = models.CharField(max_length=200, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    street1 = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    instructions = models.TextField(
        blank=True, help_text=_("Pickup instructions; a tracker's own pickupInstructions win.")
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Blank: the merchant's time zone."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"], name="pickup_location_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id
