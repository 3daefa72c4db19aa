"""The console's page of a merchant's store connections: credentials write-only, "Test connection",
the last sync and the last error (docs/channels.md, "Platform connections")."""

import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_q.tasks import async_task

from carriers.vocabulary import Status
from flextracker.urlguard import check_url
from merchants.admin import MerchantScopedAdmin, write_only_field
from merchants.selectors import merchants_visible_to
from platforms.checks import CHECKS
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.clients.rest import parse_moment
from platforms.models import PlatformConnection, PlatformKind, PullAuth, PullCursor

# What each kind needs typed: (field, why) — a blank write-only field keeps the stored value.
REQUIRED_SECRETS = {
    PlatformKind.SHOPIFY: [("webhook_secret", _("Required: Shopify signs every webhook with it."))],
    PlatformKind.WOOCOMMERCE: [
        ("webhook_secret", _("Required: WooCommerce signs every webhook with it.")),
        ("secret", _("Required: the REST API's consumer secret.")),
    ],
    PlatformKind.MAGENTO: [("secret", _("Required: the integration's access token."))],
    PlatformKind.REST_PULL: [("secret", _("Required: the token, password or key value."))],
}
SHOPIFY_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
PULLED_KINDS = (PlatformKind.MAGENTO, PlatformKind.REST_PULL)


class PlatformConnectionForm(forms.ModelForm):
    secret = write_only_field(
        _("secret / token"),
        _("Shopify: the Admin API access token. WooCommerce: the consumer secret. Magento: the "
          "integration's access token. Any OMS: the bearer token, password or header value."),
    )  # fmt: skip
    webhook_secret = write_only_field(_("webhook secret"), _("Signs the webhooks sent to us."))
    refresh_token = write_only_field(
        _("refresh token"), _("OAuth 2.0 refresh token (Zoho: from its API console's Self Client).")
    )
    write_back_statuses = forms.MultipleChoiceField(
        label=_("Write back on"),
        choices=[(s.value, s.label) for s in Status if s != Status.UNKNOWN],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The statuses written to the store (a fulfillment event on Shopify, an order "
                    "note on WooCommerce, a status-history comment on Magento)."),
    )  # fmt: skip

    class Meta:
        model = PlatformConnection
        fields = [
            "merchant", "name", "kind", "base_url", "username", "secret", "webhook_secret",
            "auth", "token_url", "token_scope", "refresh_token", "token_scheme",
            "write_back_statuses", "complete_on_delivery", "pull_every_minutes",
            "cursor_kind", "pull_cursor", "records_path", "page_size", "max_pages", "dictionary",
            "is_active",
        ]  # fmt: skip
        labels = {"username": _("user name / key / header name")}

    def clean_base_url(self) -> str:
        """Checked by the SSRF guard when typed (and again at every call); a URL template's
        placeholders are checked as filled in."""
        url = self.cleaned_data["base_url"].strip().rstrip("/")
        if "base_url" in self.changed_data:
            filled = url.replace("{since}", "2026-01-01T00:00:00Z").replace("{page}", "1")
            problems = check_url(filled.replace("{pageSize}", "100"))
            if problems:
                raise forms.ValidationError(problems)
        return url

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"].strip() or self.instance.secret

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data["webhook_secret"].strip() or self.instance.webhook_secret

    def clean_pull_cursor(self) -> str:
        """Staff may set where the next pull starts: a date-time (updated since), a page."""
        cursor = self.cleaned_data["pull_cursor"].strip()
        kind, cursor_kind = self.data.get("kind"), self.data.get("cursor_kind")
        if not cursor or kind != PlatformKind.REST_PULL:
            return cursor
        if cursor_kind == PullCursor.PAGE and not cursor.isdigit():
            raise forms.ValidationError(_("A page number: 1, 2 …"))
        if cursor_kind == PullCursor.UPDATED_SINCE and parse_moment(cursor) is None:
            raise forms.ValidationError(_("A date-time in ISO 8601: 2026-12-01T00:00:00Z."))
        return cursor

    def clean_refresh_token(self) -> str:
        return self.cleaned_data["refresh_token"].strip() or self.instance.refresh_token

    def clean_token_url(self) -> str:
        url = self.cleaned_data["token_url"].strip()
        if url and "token_url" in self.changed_data and (problems := check_url(url)):
            raise forms.ValidationError(problems)
        return url

    def clean(self):
        data = super().clean()
        for name, why in REQUIRED_SECRETS.get(data.get("kind"), []):
            if not data.get(name):
                self.add_error(name, why)
        if data.get("kind") == PlatformKind.SHOPIFY:
            self._shopify_clean(data)
        else:
            self.instance.shop_domain = ""  # no longer a Shopify store: its webhooks are refused
        dictionary, merchant = data.get("dictionary"), data.get("merchant")
        if dictionary and merchant and dictionary.merchant_id != merchant.pk:
            self.add_error("dictionary", _("Choose one of this merchant's format dictionaries."))
        if data.get("kind") == PlatformKind.REST_PULL:
            self._clean_rest_pull(data)
        return data

    def _shopify_clean(self, data: dict) -> None:
        """A Shopify store is its myshopify.com domain: its webhooks name it, and one store
        belongs to one connection. Writing back needs the Admin API token."""
        url = data.get("base_url")
        parts = urlsplit(url or "")
        domain = (parts.hostname or "") if url else ""
        if url and not (
            SHOPIFY_DOMAIN.fullmatch(domain) and parts.scheme == "https" and not parts.path
            and parts.port is None and not parts.query
        ):  # fmt: skip
            self.add_error("base_url", _("Use the store's myshopify.com address, e.g. "
                                         "https://fred.myshopify.com."))  # fmt: skip
            return
        data["base_url"] = f"https://{domain}" if domain else url
        taken = PlatformConnection.objects.filter(kind=PlatformKind.SHOPIFY, shop_domain=domain)
        if domain and taken.exclude(pk=self.instance.pk).exists():
            self.add_error("base_url", _("This Shopify store is connected already."))
        self.instance.shop_domain = domain
        if data.get("write_back_statuses") and not data.get("secret"):
            self.add_error("secret", _("Required to write back: the Admin API access token."))

    def _clean_rest_pull(self, data: dict) -> None:
        """What a pull needs to run; the dictionary's own fitness is checked at each pull too
        (ingest/channels/rest_pull.py, which this app may not import)."""
        if not data.get("auth"):
            self.add_error("auth", _("Choose how we authenticate to the OMS."))
        elif data["auth"] != PullAuth.BEARER and not data.get("username"):
            self.add_error("username", _("Required: the user name, the header's name, or the "
                                         "OAuth client id."))  # fmt: skip
        if data.get("auth") in (PullAuth.OAUTH2_CLIENT, PullAuth.OAUTH2_REFRESH):
            if not data.get("token_url") and "token_url" not in self.errors:
                self.add_error("token_url", _("Required: where OAuth 2.0 tokens are asked for."))
            if data["auth"] == PullAuth.OAUTH2_REFRESH and not data.get("refresh_token"):
                self.add_error("refresh_token", _("Required for the refresh-token grant."))
        if not data.get("dictionary"):
            self.add_error("dictionary", _("Required: the format dictionary that maps a record."))
        elif data["dictionary"].mapping.get("records"):
            why = _(
                "Each pulled record is mapped alone: remove “records” from the dictionary "
                "and give it as the records path."
            )
            self.add_error("dictionary", why)
        placeholder = "{since}" if data.get("cursor_kind") == PullCursor.UPDATED_SINCE else "{page}"
        if placeholder not in data.get("base_url", placeholder):
            self.add_error("base_url", _("The URL needs %s where the cursor goes.") % placeholder)


@admin.register(PlatformConnection)
class PlatformConnectionAdmin(MerchantScopedAdmin):
    """A merchant's store or OMS, both ways. The merchant's admins may manage their own; every
    address is checked by the SSRF guard when we connect."""

    form = PlatformConnectionForm
    editable_by_merchant_admins = True
    list_display = ["name", "merchant", "kind", "is_active", "last_sync_at",
                    "consecutive_failures", "last_error"]  # fmt: skip
    list_filter = ["kind", "is_active", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "base_url", "merchant__merchant_id", "merchant__name"]
    list_select_related = ["merchant"]
    readonly_fields = ["public_id", "webhook_address", "last_sync_at", "last_error",
                       "last_error_at", "consecutive_failures", "next_pull_at"]  # fmt: skip
    actions = ["test_connection", "pull_now"]

    @admin.display(description=_("Webhook address (where the store sends its webhooks)"))
    def webhook_address(self, connection: PlatformConnection) -> str:
        # The receivers live in ingest, above this app: reached by URL name, never imported.
        if connection.pk is None:
            return _("Shown once saved.")
        if connection.kind == PlatformKind.SHOPIFY:
            path = reverse("hooks-shopify", args=[connection.merchant.merchant_id])
        elif connection.kind == PlatformKind.WOOCOMMERCE:
            path = reverse("hooks-woocommerce", args=[connection.public_id])
        else:
            return "—"
        return f"{settings.PUBLIC_BASE_URL}{path}"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "dictionary":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                merchant__in=merchants_visible_to(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description=_("Test the connection now"))
    def test_connection(self, request, queryset):
        for connection in queryset.select_related("merchant"):
            check = CHECKS.get(connection.kind)
            if check is None:
                self.message_user(request, _("%s: nothing to test yet.") % connection.name,
                                  messages.WARNING)  # fmt: skip
                continue
            try:
                answer = check(connection)
            except (PlatformUnavailable, PlatformRefused) as error:
                self.message_user(request, f"{connection.name}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{connection.name}: {answer}", messages.SUCCESS)

    @admin.action(description=_("Pull now"))
    def pull_now(self, request, queryset):
        """Makes the connections due and wakes the worker: pulled within the minute, by the same
        code as the schedule (one worker at a time per connection)."""
        pulled = queryset.filter(kind__in=PULLED_KINDS, is_active=True)
        names = sorted(pulled.values_list("name", flat=True))
        skipped = queryset.exclude(pk__in=pulled.values("pk")).count()
        if names:
            pulled.update(next_pull_at=timezone.now())
            async_task("ingest.tasks.pull_platforms", task_name="pull platforms now")
            self.message_user(request, _("Pulling now: %s. The result shows here as the last "
                                         "sync or the last error.") % ", ".join(names))  # fmt: skip
        if skipped:
            self.message_user(request, _("%d connection(s) skipped: switched off, or not pulled "
                                         "(webhooks bring their orders).") % skipped,
                              messages.WARNING)  # fmt: skip
