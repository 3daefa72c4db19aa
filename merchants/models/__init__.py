"""The merchants app's models, split by sub-domain; every name is importable from
merchants.models.

- merchants: Merchant, its memberships and API keys, the validators of its settings.
- branding: BrandingTemplate and its fonts and colours.
- notification_rules: NotificationRule and its channels and triggers.
- returns: ReturnPolicy and ReturnReason.
- deliveries: DeliveryProvider and PickupLocation.
"""

from .branding import (
    COLOR_FIELDS,
    FONT_STACKS,
    HEX_COLOR_PATTERN,
    TEMPLATE_NAME_PATTERN,
    BrandingTemplate,
    Font,
    validate_hex_color,
    validate_template_name,
)
from .deliveries import DeliveryProvider, PickupLocation
from .merchants import (
    MERCHANT_ID_PATTERN,
    ApiKey,
    Locale,
    Membership,
    MembershipRole,
    Merchant,
    validate_merchant_id,
    validate_time_zone,
)
from .notification_rules import NotificationChannel, NotificationRule, NotificationTrigger
from .returns import ReturnApproval, ReturnPolicy, ReturnReason, ReturnShipping

__all__ = [
    "COLOR_FIELDS",
    "FONT_STACKS",
    "HEX_COLOR_PATTERN",
    "MERCHANT_ID_PATTERN",
    "TEMPLATE_NAME_PATTERN",
    "ApiKey",
    "BrandingTemplate",
    "DeliveryProvider",
    "Font",
    "Locale",
    "Membership",
    "MembershipRole",
    "Merchant",
    "NotificationChannel",
    "NotificationRule",
    "NotificationTrigger",
    "PickupLocation",
    "ReturnApproval",
    "ReturnPolicy",
    "ReturnReason",
    "ReturnShipping",
    "validate_hex_color",
    "validate_merchant_id",
    "validate_template_name",
    "validate_time_zone",
]
