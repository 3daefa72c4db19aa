"""Reads about merchants. Every console query starts from `merchants_visible_to`."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from carriers.vocabulary import CarrierCode
from merchants.models import (
    BrandingTemplate,
    Membership,
    MembershipRole,
    Merchant,
    ReturnPolicy,
)


def user_sees_all_merchants(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_active and user.has_perm("merchants.access_all_merchants")


def merchants_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Merchant]:
    if user_sees_all_merchants(user):
        return Merchant.objects.all()
    if not user.is_authenticated or not user.is_active:
        return Merchant.objects.none()
    return Merchant.objects.filter(memberships__user=user)


def membership_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def user_is_merchant_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return MembershipRole.ADMIN in membership_roles(user)


def merchant_get_by_public_id(merchant_id: str) -> Merchant | None:
    return Merchant.objects.filter(merchant_id=merchant_id, is_active=True).first()


def branding_template_for(merchant: Merchant, name: str | None) -> BrandingTemplate:
    """The named template, else the merchant's default, else our built-in look (unsaved)."""
    templates = {t.name: t for t in merchant.templates.all()}
    if name and name in templates:
        return templates[name]
    default = next((t for t in templates.values() if t.is_default), None)
    if default:
        return default
    return BrandingTemplate(merchant=merchant, name="default", is_default=True)


def notification_triggers(merchant: Merchant, channel: str) -> list[str]:
    return list(
        merchant.notification_rules.filter(channel=channel).values_list("trigger", flat=True)
    )


def carriers_with_accounts(merchant: Merchant) -> set[str]:
    """The carriers the merchant has its own active account with."""
    return set(merchant.carrier_accounts.filter(is_active=True).values_list("carrier", flat=True))


def tracked_carriers(merchant: Merchant) -> set[str]:
    """The carriers we can poll for this merchant: the sandbox, the merchant's own accounts, and
    those with platform credentials. Shipments on the others show what the OMS sent."""
    platform = {code for code, account in settings.CARRIER_CREDENTIALS.items() if account["secret"]}
    return {CarrierCode.SANDBOX.value} | platform | carriers_with_accounts(merchant)


def return_policy_for(merchant: Merchant) -> ReturnPolicy | None:
    """The merchant's return policy when it offers returns, else None. Read through the
    relation: free for a merchant loaded with `select_related("merchant__return_policy")`."""
    policy = getattr(merchant, "return_policy", None)
    return policy if policy is not None and policy.is_enabled else None
