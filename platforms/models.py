"""A merchant's store or OMS we connect to both ways (docs/channels.md): orders come in through
ingest's channels (webhooks, or pulling its API), and what we learn is written back through the
outbox (notifications' `platform` channel calls platforms/writers.py)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant

# Where a platform mapper keeps the platform's own id of an order, in Order.attributes:
# {"platformOrder": {"connection": "<connection public id>", "id": "<platform's order id>"}}.
# The write-back finds the connection and the order on the platform through it.
PLATFORM_ORDER_ATTRIBUTE = "platformOrder"


class PlatformKind(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    MAGENTO = "magento", "Magento 2 / Adobe Commerce"
    REST_PULL = "rest_pull", _("Any OMS with a REST API (pulled)")


class PullAuth(models.TextChoices):
    BEARER = "bearer", _("Bearer token")
    BASIC = "basic", _("Basic (user name and password)")
    HEADER = "header", _("API key in a header")
    # OAuth 2.0: an access token asked of token_url at each pull (they live about an hour).
    OAUTH2_CLIENT = "oauth2cc", _("OAuth 2.0 client credentials")
    OAUTH2_REFRESH = "oauth2rt", _("OAuth 2.0 refresh token")


class PullCursor(models.TextChoices):
    UPDATED_SINCE = "updated_since", _("Updated since the last pull")
    PAGE = "page", _("Page number")


class PlatformConnection(models.Model):
    """One store or OMS of a merchant's. Credentials are write-only in the admin: never shown,
    logged or echoed in an error."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="platform_connections"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=PlatformKind.choices)
    base_url = models.CharField(
        max_length=1000,
        help_text=_(
            "Shopify: https://<shop>.myshopify.com. WooCommerce: the site's URL. Magento: the "
            "store's base URL. Any OMS: the URL to read, with {since}, {page} and {pageSize} "
            "where the cursor goes."
        ),
    )
    # Credentials, by kind: Shopify admin API access token (secret); WooCommerce consumer key
    # (username) and secret; Magento integration access token (secret); any OMS: bearer token
    # (secret), basic user and password, or header name (username) and key (secret).
    username = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=1000, blank=True)
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text=_("Signs the webhooks the platform sends us.")
    )
    # Shopify: the store's myshopify.com domain, taken from base_url. Its webhooks name it in
    # `X-Shopify-Shop-Domain`, which is how the receiver finds the connection.
    shop_domain = models.CharField(max_length=255, blank=True, editable=False)
    auth = models.CharField(max_length=8, choices=PullAuth.choices, blank=True)
    # OAuth 2.0 (any OMS): the client id is `username`, the client secret `secret`.
    token_url = models.CharField(
        max_length=1000, blank=True,
        help_text=_("OAuth 2.0: where access tokens are asked for (Microsoft Entra: "
                    "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token; Zoho: "
                    "https://accounts.zoho.com/oauth/v2/token)."),
    )  # fmt: skip
    token_scope = models.CharField(
        max_length=500, blank=True,
        help_text=_("OAuth 2.0 client credentials: the scope (Dynamics 365: "
                    "https://<org>.crm.dynamics.com/.default)."),
    )  # fmt: skip
    refresh_token = models.CharField(max_length=1000, blank=True)
    token_scheme = models.CharField(
        max_length=40, blank=True,
        help_text=_("OAuth 2.0: the word before the token in the Authorization header; blank "
                    "for Bearer (Zoho: Zoho-oauthtoken)."),
    )  # fmt: skip

    # Write-back: which of our statuses are written to the platform (TRACKING.md's statuses).
    write_back_statuses = models.JSONField(default=list, blank=True)
    complete_on_delivery = models.BooleanField(
        default=False,
        help_text=_(
            "Mark the order completed on the platform when everything shipped is delivered."
        ),
    )

    # Pulling (Magento, any OMS).
    pull_every_minutes = models.PositiveIntegerField(default=15)
    pull_cursor = models.CharField(max_length=200, blank=True)
    cursor_kind = models.CharField(
        max_length=16, choices=PullCursor.choices, default=PullCursor.UPDATED_SINCE
    )
    records_path = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Where the records are in the answer: “value”, “data.orders”."),
    )
    page_size = models.PositiveIntegerField(default=100)
    max_pages = models.PositiveIntegerField(default=20, help_text=_("Per pull."))
    # Named by string: the format dictionaries belong to ingest, above this app.
    dictionary = models.ForeignKey(
        "ingest.FormatDictionary", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    next_pull_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    # Health: the console shows the last sync and its error; repeated failure alerts staff.
    is_active = models.BooleanField(default=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="platform_connection_unique"),
            models.UniqueConstraint(
                fields=["shop_domain"],
                condition=Q(kind="shopify") & ~Q(shop_domain=""),
                name="platform_shopify_domain_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_pull_at"],
                condition=Q(is_active=True, kind__in=["magento", "rest_pull"]),
                name="platform_pull_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def writes_to_shipments(self) -> bool:
        """Shopify writes to a fulfillment: a shipment it did not create has nowhere to go."""
        return self.kind == PlatformKind.SHOPIFY

    def writes_back(self, status: str) -> bool:
        return status in self.write_back_statuses or (
            self.complete_on_delivery and status == "delivered"
        )
