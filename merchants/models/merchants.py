"""Merchants, their members, API keys and the shared validators of their settings."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from flextracker.api.style import ApiStyle

MERCHANT_ID_PATTERN = r"^[A-Z]{2,6}-[0-9]{2}-[0-9]{5}$"

validate_merchant_id = RegexValidator(
    MERCHANT_ID_PATTERN,
    _("Use the form ABC-01-12345: 2–6 capital letters, 2 digits, 5 digits."),
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
