"""Branding templates: how a merchant's customer page looks (colours, fonts, logo)."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .merchants import Merchant

HEX_COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
TEMPLATE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

validate_hex_color = RegexValidator(HEX_COLOR_PATTERN, _("Use a hex colour such as #1A2B3C."))
validate_template_name = RegexValidator(
    TEMPLATE_NAME_PATTERN, _("Letters, digits, '_' and '-' only (it appears in links).")
)


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
