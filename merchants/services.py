"""Every write to merchants, their keys, branding and notification rules."""

import hashlib
import io
import secrets
from datetime import timedelta

import nh3
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from carriers.vocabulary import DEFAULT_CUSTOMER_NOTIFICATION_STATUSES
from flextracker.api.style import ApiStyle
from merchants.models import (
    ApiKey,
    BrandingTemplate,
    Membership,
    Merchant,
    NotificationChannel,
    NotificationRule,
    ReturnPolicy,
    ReturnReason,
)

API_KEY_PREFIX = "ftk_"
API_KEY_SHOWN_PREFIX_LENGTH = 12
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_SIZE = (600, 200)

RICH_TEXT_TAGS = {"a", "b", "strong", "i", "em", "br", "p", "span"}
RICH_TEXT_ATTRIBUTES = {"a": {"href", "title"}}


def merchant_create(*, merchant_id: str, name: str, **details) -> Merchant:
    merchant = Merchant(merchant_id=merchant_id, name=name, **details)
    merchant.full_clean()
    return merchant_save(merchant=merchant, is_new=True)


@transaction.atomic
def merchant_save(*, merchant: Merchant, is_new: bool) -> Merchant:
    """Saves a merchant; a new one starts with TRACKING.md's default customer notifications."""
    merchant.save()
    if is_new:
        for channel in (NotificationChannel.EMAIL, NotificationChannel.SMS):
            notification_rules_set(
                merchant=merchant,
                channel=channel,
                triggers=[status.value for status in DEFAULT_CUSTOMER_NOTIFICATION_STATUSES],
            )
    return merchant


@transaction.atomic
def notification_rules_set(*, merchant: Merchant, channel: str, triggers: list[str]) -> None:
    merchant.notification_rules.filter(channel=channel).exclude(trigger__in=triggers).delete()
    existing = set(
        merchant.notification_rules.filter(channel=channel).values_list("trigger", flat=True)
    )
    NotificationRule.objects.bulk_create(
        NotificationRule(merchant=merchant, channel=channel, trigger=trigger)
        for trigger in triggers
        if trigger not in existing
    )


def hash_api_key(raw_key: str) -> str:
    # SHA-256 is right for a high-entropy random key (RELIABILITY.md); a slow hash buys nothing.
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_issue(
    *,
    merchant: Merchant,
    name: str = "default",
    created_by: AbstractUser | None = None,
    style: str = ApiStyle.NATIVE,
) -> tuple[ApiKey, str]:
    """Returns the key row and the key itself, which exists nowhere else: show it once."""
    api_key = ApiKey(merchant=merchant, name=name, created_by=created_by, style=style)
    return api_key, api_key_store(api_key=api_key)


def api_key_store(*, api_key: ApiKey) -> str:
    """Gives an unsaved key row a fresh secret, saves its hash, and returns the secret."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key.prefix = raw_key[:API_KEY_SHOWN_PREFIX_LENGTH]
    api_key.hashed_key = hash_api_key(raw_key)
    api_key.save()
    return raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, with its merchant, or None. Records when it was used."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    api_key = (
        ApiKey.objects.select_related("merchant__return_policy")  # returnsUrl in answers
        .filter(hashed_key=hash_api_key(raw_key), revoked_at__isnull=True, merchant__is_active=True)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


@transaction.atomic
def membership_grant(*, user: AbstractUser, merchant: Merchant, role: str) -> Membership:
    """Gives a user access to one merchant in the console (which needs is_staff to log in)."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    membership, _created = Membership.objects.update_or_create(
        user=user, merchant=merchant, defaults={"role": role}
    )
    return membership


def sanitize_rich_text(html: str) -> str:
    """Merchant-supplied text keeps simple formatting and https/mailto links, nothing else."""
    return nh3.clean(
        html,
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes={"https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def logo_reencode(data: bytes) -> bytes:
    """A merchant's upload becomes our own PNG: no scripts, no metadata, bounded size."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError("The logo file is larger than 2 MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            converted = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValidationError("The logo must be a PNG, JPEG, GIF or WebP image.") from error
    converted.thumbnail(LOGO_MAX_SIZE)
    output = io.BytesIO()
    converted.save(output, format="PNG", optimize=True)
    return output.getvalue()


@transaction.atomic
def branding_template_save(*, template: BrandingTemplate) -> BrandingTemplate:
    """Saves a template, keeping exactly one default per merchant."""
    template.header_text = sanitize_rich_text(template.header_text)
    template.footer_text = sanitize_rich_text(template.footer_text)
    others = BrandingTemplate.objects.select_for_update().filter(merchant=template.merchant)
    if template.pk:
        others = others.exclude(pk=template.pk)
    if template.is_default:
        others.filter(is_default=True).update(is_default=False)
    elif not others.filter(is_default=True).exists():
        template.is_default = True
    template.save()
    return template


RETURN_EMAIL_TRIGGERS = ["return_requested", "return_approved", "return_refused",
                         "return_label_ready", "return_received"]  # fmt: skip


def return_policy_save(*, policy: ReturnPolicy) -> ReturnPolicy:
    """Saves the policy. Turned on (new, or off until now), it also ticks the customer emails of
    every return step: a customer who asks for a return expects to hear back. The merchant may
    untick them afterwards; they come back only when returns are turned off and on again."""
    policy.full_clean()
    was_enabled = (
        policy.pk is not None
        and ReturnPolicy.objects.filter(pk=policy.pk, is_enabled=True).exists()
    )
    with transaction.atomic():
        policy.save()
        if policy.is_enabled and not was_enabled:
            NotificationRule.objects.bulk_create(
                [NotificationRule(merchant_id=policy.merchant_id, channel=NotificationChannel.EMAIL,
                                  trigger=t)
                 for t in RETURN_EMAIL_TRIGGERS],
                ignore_conflicts=True,
            )  # fmt: skip
    return policy


def return_reason_save(*, reason: ReturnReason) -> ReturnReason:
    reason.save()
    return reason


def return_reason_delete(*, reason: ReturnReason) -> None:
    """Requests keep the reason's code and label as the customer read it."""
    reason.delete()
