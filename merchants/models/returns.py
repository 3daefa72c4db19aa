"""Return policies and the return reasons a merchant's customers pick from."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .merchants import Merchant


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
