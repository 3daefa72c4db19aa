"""The admin of what comes in: the inbound log (inspect, replay), format dictionaries with their
preview, file sources and the files read, queue sources and email sources (a Shopify store is
a platform connection: platforms/admin.py)."""

import json
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from flextracker.errors import ApiError
from flextracker.urlguard import RABBITMQ, SFTP_PORTS, SQS, check_host, check_url
from inbound.models import InboundMessage, InboundOutcome
from inbound.services import Failure
from ingest.admin_sqs import sqs_queue_create_view
from ingest.channels.dictionaries import dictionary_preview
from ingest.channels.dictionary_check import dictionary_compile
from ingest.channels.email_in import email_route
from ingest.channels.folders import (
    FolderUnavailable,
    open_folder,
    parse_host_key,
    parse_private_key,
)
from ingest.channels.imap import IMAP_PORTS
from ingest.channels.sqs_create import oms_policy_document, queue_arn_from_url
from ingest.models import (
    EmailSource,
    FileSource,
    FileSourceKind,
    FormatDictionary,
    InboundFile,
    QueueKind,
    QueueSource,
)
from ingest.replay import inbound_replay
from merchants.admin import MerchantScopedAdmin, kept_secret, write_only_field
from merchants.selectors import (
    merchants_visible_to,
    user_sees_all_merchants,
)

"""The console for the file channel and format dictionaries (registered from orders/admin.py).

They live with the channel code, not in merchants/admin.py, because they run it — the mapping
test, the connection check — and `merchants` must not import `orders` (docs/architecture.md).
"""


TEST_BUTTON = "_test_mapping"


class FormatDictionaryForm(forms.ModelForm):
    class Meta:
        model = FormatDictionary
        fields = ["merchant", "name", "format", "mapping", "sample"]
        monospace = {"cols": 100, "style": "font-family: monospace"}
        widgets = {
            "mapping": forms.Textarea(attrs={"rows": 24, **monospace}),
            "sample": forms.Textarea(attrs={"rows": 12, **monospace}),
        }
        help_texts = {
            "mapping": _("Which of their fields fills which of ours, and their words for each "
                         "event type: docs/channels.md."),
            "sample": _("Paste one of their messages or the start of a file, then “Test "
                        "mapping”: each record's envelope or errors, without saving. A sample "
                        "that fails to map cannot be saved."),
        }  # fmt: skip

    mapping_test = None  # (records, problem) once tested
    testing = False

    def clean(self):
        data = super().clean()
        if "mapping" not in data or not data.get("format"):
            return data
        merchant = data.get("merchant")
        try:
            compiled = dictionary_compile(data["format"], data["mapping"],
                                          merchant.time_zone if merchant else "UTC")  # fmt: skip
        except ApiError as error:
            self.add_error("mapping", list(error.fields.get("mapping", [error.message])))
            return data
        if data.get("sample"):
            self.mapping_test = dictionary_preview(compiled, data["sample"].encode())
            records, problem = self.mapping_test
            failing = [r for r in records if r.error] or ([problem] if problem else [])
            if failing and not self.testing:
                message = _("%(count)d record(s) of the sample do not map: see the test below.")
                self.add_error("sample", message % {"count": len(failing)})
        elif self.testing:
            self.add_error("sample", _("Paste a sample message to test the mapping with."))
        return data


@admin.register(FormatDictionary)
class FormatDictionaryAdmin(MerchantScopedAdmin):
    form = FormatDictionaryForm
    editable_by_merchant_admins = True
    change_form_template = "admin/ingest/formatdictionary/change_form.html"
    list_display = ["name", "merchant", "format", "updated_at"]
    list_filter = ["format", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "merchant__merchant_id", "merchant__name"]
    list_select_related = ["merchant"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.testing = TEST_BUTTON in request.POST
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and TEST_BUTTON in request.POST:
            return self._test_view(request, object_id, form_url)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _test_view(self, request, object_id, form_url):
        """The change form again, with the mapping test and whatever was typed; nothing saved."""
        obj = self.get_object(request, object_id) if object_id else None
        if object_id and obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(
            request)  # fmt: skip
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        form.is_valid()
        fieldsets = self.get_fieldsets(request, obj)
        admin_form = helpers.AdminForm(form, list(fieldsets), {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Test the mapping"), "subtitle": str(obj) if obj else None,
            "adminform": admin_form, "object_id": object_id, "original": obj,
            "is_popup": False, "to_field": None, "media": self.media + admin_form.media,
            "inline_admin_formsets": [], "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
        }  # fmt: skip
        return self.render_change_form(
            request, context, add=obj is None, change=obj is not None, obj=obj, form_url=form_url
        )


_WRITE_ONLY = _("Write-only: never shown back. Leave blank to keep the stored one.")


class FileSourceForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text=_WRITE_ONLY
    )
    private_key = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "autocomplete": "off"}),
        help_text=_("OpenSSH or PEM, without a passphrase. ") + _WRITE_ONLY,
    )
    forget_credentials = forms.BooleanField(
        required=False, label=_("Forget the stored password and private key")
    )

    class Meta:
        model = FileSource
        fields = [
            "merchant", "name", "kind", "dictionary", "directory", "file_pattern",
            "archive_directory", "error_directory", "host", "port", "username", "password",
            "private_key", "host_key", "is_active",
        ]  # fmt: skip

    def clean_private_key(self) -> str:
        text = self.cleaned_data["private_key"].strip()
        if text:
            try:
                parse_private_key(text + "\n")
            except ValueError as error:
                raise ValidationError(str(error)) from error
            return text + "\n"
        return text

    def clean(self):
        data = super().clean()
        keep = not data.get("forget_credentials")
        data["password"] = data.get("password") or (self.instance.password if keep else "")
        data["private_key"] = data.get("private_key") or (self.instance.private_key if keep else "")
        if data.get("kind") == FileSourceKind.SFTP:
            self._check_sftp(data)
        dictionary, merchant = data.get("dictionary"), data.get("merchant")
        if dictionary and merchant and dictionary.merchant_id != merchant.pk:
            self.add_error("dictionary", _("Choose one of this merchant's format dictionaries."))
        return data

    def _check_sftp(self, data: dict) -> None:
        for name in ("host", "username", "host_key"):
            if not data.get(name):
                self.add_error(name, _("Required for SFTP."))
        if data.get("host") and data.get("port") and not self.has_error("host"):
            for problem in check_host(data["host"], data["port"], SFTP_PORTS):
                self.add_error("host", problem)
        if data.get("host_key"):
            try:
                parse_host_key(data["host_key"])
            except ValueError as error:
                self.add_error("host_key", str(error))
        if not (data["password"] or data["private_key"]):
            self.add_error("password", _("Give a password or a private key."))

    def _post_clean(self):
        super()._post_clean()
        # The form fields win over the model's (blank means "keep", handled in clean()).
        self.instance.password = self.cleaned_data.get("password", self.instance.password)
        self.instance.private_key = self.cleaned_data.get("private_key", self.instance.private_key)


@admin.register(FileSource)
class FileSourceAdmin(MerchantScopedAdmin):
    """A folder the merchant's OMS drops files in. flexEngage staff set these up (we connect
    where it says, or read our own disk); merchant users may look."""

    form = FileSourceForm
    list_display = ["name", "merchant", "kind", "where", "dictionary", "is_active",
                    "last_polled_at", "last_error", "files_link"]  # fmt: skip
    list_filter = ["kind", "is_active", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "host", "merchant__merchant_id"]
    list_select_related = ["merchant", "dictionary"]
    actions = ["check_connection"]
    fieldsets = [
        (None, {"fields": ["merchant", "name", "kind", "dictionary", "is_active"]}),
        (
            _("Folders"),
            {"fields": ["directory", "file_pattern", "archive_directory", "error_directory"]},
        ),
        (
            _("SFTP"),
            {
                "fields": [
                    "host",
                    "port",
                    "username",
                    "password",
                    "private_key",
                    "forget_credentials",
                    "host_key",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        if not self.has_change_permission(request, obj):
            # Read-only: the credentials are not even shown masked.
            return [(None, {"fields": ["merchant", "name", "kind", "dictionary", "is_active",
                                       "directory", "file_pattern", "archive_directory",
                                       "error_directory", "host", "port", "username",
                                       "host_key", "last_polled_at", "last_error"]})]  # fmt: skip
        return self.fieldsets

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "dictionary":
            kwargs["queryset"] = FormatDictionary.objects.filter(
                merchant__in=merchants_visible_to(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("where"))
    def where(self, source: FileSource) -> str:
        if source.kind == FileSourceKind.SFTP:
            return f"sftp://{source.username}@{source.host}:{source.port}{source.directory}"
        return source.directory

    @admin.display(description=_("files"))
    def files_link(self, source: FileSource) -> str:
        url = reverse("admin:ingest_inboundfile_changelist") + f"?source__id__exact={source.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Files"))

    def has_check_connection_permission(self, request) -> bool:
        return user_sees_all_merchants(request.user)

    @admin.action(description=_("Check the connection now (lists the folder)"),
                  permissions=["check_connection"])  # fmt: skip
    def check_connection(self, request, queryset):
        for source in queryset.select_related("merchant"):
            try:
                with open_folder(source) as folder:
                    count = len(folder.list())
            except FolderUnavailable as error:
                self.message_user(request, f"{source.name}: {error}", messages.ERROR)
            else:
                text = _("%(name)s: connected; %(count)d file(s) waiting.") % {
                    "name": source.name, "count": count}  # fmt: skip
                self.message_user(request, text, messages.SUCCESS)


@admin.register(InboundFile)
class InboundFileAdmin(MerchantScopedAdmin):
    list_display = ["name", "merchant", "status", "records_read", "records_accepted",
                    "records_rejected", "records_failed", "started_at", "finished_at",
                    "records_link"]  # fmt: skip
    list_filter = ["status", ("merchant", admin.RelatedOnlyFieldListFilter),
                   ("source", admin.RelatedOnlyFieldListFilter)]  # fmt: skip
    search_fields = ["name", "sha256"]
    list_select_related = ["merchant"]
    readonly_fields = ["merchant", "source", "name", "size", "sha256", "status", "records_read",
                       "records_accepted", "records_rejected", "records_failed", "problem",
                       "report_table", "moved_to", "started_at", "finished_at",
                       "records_link"]  # fmt: skip
    exclude = ["report", "leased_until"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("records"))
    def records_link(self, inbound_file: InboundFile) -> str:
        query = urlencode({"source__startswith": inbound_file.source_prefix})
        url = reverse("admin:inbound_inboundmessage_changelist") + "?" + query
        return format_html('<a href="{}">{}</a>', url, _("Inbound messages"))

    @admin.display(description=_("failed records (first 100)"))
    def report_table(self, inbound_file: InboundFile) -> str:
        if not inbound_file.report:
            return "—"
        lines = []
        for row in inbound_file.report:
            where = (f"line {row['line']}" if "line" in row
                     else f"record {row['record']}" if "record" in row else "file")  # fmt: skip
            details = [f"{name}: {text}" for name, texts in (row.get("fields") or {}).items()
                       for text in texts if f"{name}: {text}" != row["message"]]  # fmt: skip
            lines.append(" · ".join([where, row.get("eventId", ""), row.get("orderId", ""),
                                     f"{row['code']}: {row['message']}", *details]))  # fmt: skip
        return "\n".join(lines)


def _without_secrets(value):
    if isinstance(value, dict):
        return {k: "(hidden)" if k == "secret" else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


@admin.register(InboundMessage)
class InboundMessageAdmin(MerchantScopedAdmin):
    list_display = [
        "received_at", "merchant", "channel", "method", "path", "source", "outcome", "error_code",
    ]  # fmt: skip
    list_filter = ["outcome", "channel", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order_ref", "idempotency_key", "path", "source"]
    list_select_related = ["merchant"]
    readonly_fields = [
        "merchant", "channel", "method", "path", "source", "content_type", "body_text",
        "idempotency_key",
        "order_ref", "outcome", "response_status", "response_shown", "error_code", "received_at",
        "processed_at", "replay_count",
    ]  # fmt: skip
    exclude = ["body", "request_hash", "response_body"]
    show_full_result_count = False
    actions = ["replay_selected"]
    editable_by_merchant_admins = True

    @admin.display(description=_("response"))
    def response_shown(self, message: InboundMessage) -> str:
        """The stored answer, with secrets it handed out (webhook signing secrets) hidden."""
        return json.dumps(_without_secrets(message.response()), indent=2, ensure_ascii=False)

    @admin.display(description=_("body"))
    def body_text(self, message: InboundMessage) -> str:
        return bytes(message.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is what proves nothing was lost

    def has_change_permission(self, request, obj=None):
        return False

    def has_replay_permission(self, request) -> bool:
        # Replaying changes the merchant's data: flexEngage staff and merchant admins, not agents.
        return MerchantScopedAdmin.has_change_permission(self, request)

    @admin.action(
        description=_("Replay selected messages (after fixing the merchant's data)"),
        permissions=["replay"],
    )
    def replay_selected(self, request, queryset):
        left = [InboundOutcome.ACCEPTED, InboundOutcome.QUEUED]  # applied, or the worker's
        for message in queryset.exclude(outcome__in=left).select_related("merchant"):
            outcome = inbound_replay(message)
            if isinstance(outcome, Failure):
                text = _("Message %(id)s rejected again: %(code)s — %(message)s") % {
                    "id": message.pk, "code": outcome.error.code, "message": outcome.error.message,
                }  # fmt: skip
                self.message_user(request, text, messages.WARNING)
            else:
                self.message_user(request, _("Message %s accepted.") % message.pk, messages.SUCCESS)
        if skipped := queryset.filter(outcome__in=left).count():
            text = (
                _("%d accepted or queued message(s) skipped: replaying would apply them twice.")
                % skipped
            )
            self.message_user(request, text, messages.INFO)


class QueueSourceForm(forms.ModelForm):
    url = write_only_field(
        _("URL"),
        _(
            "amqp://user:password@host:5672/vhost (RabbitMQ), the SQS queue URL, or "
            "amqps://user:password@host:5671 (AMQP 1.0)."
        ),
    )

    class Meta:
        model = QueueSource
        fields = [
            "merchant", "name", "kind", "url", "queue_name", "dead_letter_queue", "region",
            "dictionary", "is_active",
        ]  # fmt: skip

    def clean_url(self) -> str:
        return kept_secret(self, "url", _("Required: where to read the messages."))

    def clean(self):
        data = super().clean()
        kind, url = data.get("kind"), data.get("url") or ""
        if kind == QueueKind.RABBITMQ:
            if urlsplit(url).scheme not in ("amqp", "amqps"):
                self.add_error("url", _("A RabbitMQ URL starts with amqp:// or amqps://."))
            if not data.get("queue_name"):
                self.add_error("queue_name", _("Required for RabbitMQ."))
        if kind == QueueKind.AMQP10:
            if urlsplit(url).scheme not in ("amqp", "amqps"):
                self.add_error("url", _("An AMQP 1.0 URL starts with amqp:// or amqps://."))
            if not data.get("queue_name"):
                self.add_error(
                    "queue_name", _("Required for AMQP 1.0: the address to receive from.")
                )
        if kind == QueueKind.SQS and urlsplit(url).scheme != "https":
            self.add_error("url", _("An SQS queue URL starts with https://."))
        self._check_addresses(kind, url)
        dictionary, merchant = data.get("dictionary"), data.get("merchant")
        if dictionary and merchant and dictionary.merchant_id != merchant.pk:
            self.add_error("dictionary", _("Choose one of this merchant's format dictionaries."))
        return data

    def _check_addresses(self, kind: str, url: str) -> None:
        """The SSRF guard on what was typed (a blank write-only URL keeps the stored one)."""
        target = SQS if kind == QueueKind.SQS else RABBITMQ  # AMQP 1.0: the same ports
        typed = {"url": self.data.get(self.add_prefix("url"), "").strip() and url}
        if kind == QueueKind.SQS:
            typed["dead_letter_queue"] = self.cleaned_data.get("dead_letter_queue", "").strip()
        for name, value in typed.items():
            if value and name not in self.errors:
                for problem in check_url(value, target):
                    self.add_error(name, problem)


@admin.register(QueueSource)
class QueueSourceAdmin(MerchantScopedAdmin):
    """A queue the merchant's OMS publishes to (`manage.py consume <merchantId>` reads it).

    flexEngage staff set these up; merchant users may look. Our consumer connects wherever the
    URL says, so a merchant must not be able to point it at hosts of ours."""

    form = QueueSourceForm
    list_display = ["name", "merchant", "kind", "queue_shown", "dictionary", "is_active"]
    list_filter = ["kind", "is_active", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "queue_name", "merchant__merchant_id"]
    list_select_related = ["merchant", "dictionary"]

    def get_readonly_fields(self, request, obj=None):
        return ["connection", "oms_policy"] if obj is not None else []

    def get_urls(self):
        view = self.admin_site.admin_view(self.create_sqs_view)
        return [path("create-sqs/<int:merchant_pk>/", view, name="ingest_queuesource_create_sqs"),
                *super().get_urls()]  # fmt: skip

    def create_sqs_view(self, request, merchant_pk: int):
        return sqs_queue_create_view(self, request, merchant_pk)

    @admin.display(description=_("IAM policy for the OMS (SQS queues on AWS)"))
    def oms_policy(self, source: QueueSource) -> str:
        arn = queue_arn_from_url(source.url) if source.kind == QueueKind.SQS else ""
        return json.dumps(oms_policy_document(arn), indent=2) if arn else "—"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "dictionary":
            kwargs["queryset"] = db_field.related_model.objects.filter(
                merchant__in=merchants_visible_to(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("Connection (password hidden)"))
    def connection(self, source: QueueSource) -> str:
        parts = urlsplit(source.url)
        if parts.password is None:
            return source.url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:••••@{host}"))

    @admin.display(description=_("Queue"))
    def queue_shown(self, source: QueueSource) -> str:
        return source.queue_name or urlsplit(source.url).path.rstrip("/").rpartition("/")[2]


class EmailSourceForm(forms.ModelForm):
    imap_password = write_only_field(_("IMAP password"))

    class Meta:
        model = EmailSource
        fields = [
            "merchant", "name", "is_active", "order_header", "order_pattern", "accepted_senders",
            "imap_host", "imap_port", "imap_use_tls", "imap_username", "imap_password",
            "imap_folder",
        ]  # fmt: skip

    def clean_order_pattern(self) -> str:
        pattern = self.cleaned_data["order_pattern"].strip()
        if pattern:
            try:
                groups = re.compile(pattern).groups
            except re.error as error:
                raise ValidationError(_("Not a regular expression: %s.") % error) from error
            if groups < 1:
                raise ValidationError(_("Put the order ID in a group: (…)."))
        return pattern

    def clean_imap_password(self) -> str:
        return self.cleaned_data["imap_password"].strip() or self.instance.imap_password

    def clean(self):
        data = super().clean()
        host = (data.get("imap_host") or "").strip()
        if host:
            for name in ("imap_username", "imap_password"):
                if not data.get(name):
                    self.add_error(name, _("Required to read a mailbox."))
            if data.get("imap_port") and "imap_host" not in self.errors:
                for problem in check_host(host, data["imap_port"], IMAP_PORTS):
                    self.add_error("imap_host", problem)
        return data


READING_FIELDS = ["order_header", "order_pattern", "accepted_senders"]
IMAP_FIELDS = [
    "imap_host", "imap_port", "imap_use_tls", "imap_username", "imap_password", "imap_folder",
    "last_polled_at", "last_error",
]  # fmt: skip


@admin.register(EmailSource)
class EmailSourceAdmin(MerchantScopedAdmin):
    """Where a merchant's shipping emails reach us: its own address to forward them to, and/or
    its mailbox read over IMAP each minute. Merchant admins set up their own."""

    form = EmailSourceForm
    editable_by_merchant_admins = True
    list_display = ["name", "merchant", "address", "imap_host", "is_active", "last_polled_at",
                    "last_error", "messages_link"]  # fmt: skip
    list_filter = ["is_active", ("merchant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "address_token", "imap_host", "merchant__merchant_id"]
    list_select_related = ["merchant"]
    fieldsets = [
        (None, {"fields": ["merchant", "name", "is_active", "address"]}),
        (_("Reading the emails"), {"fields": READING_FIELDS}),
        (_("Mailbox (IMAP), instead of or besides forwarding"), {"fields": IMAP_FIELDS}),
    ]
    readonly_fields = ["address", "last_polled_at", "last_error"]

    def get_fieldsets(self, request, obj=None):
        if not self.has_change_permission(request, obj):  # read-only: not even shown masked
            imap = [name for name in IMAP_FIELDS if name != "imap_password"]
            return [(None, {"fields": ["merchant", "name", "is_active", "address",
                                       *READING_FIELDS, *imap]})]  # fmt: skip
        return self.fieldsets

    @admin.display(description=_("Forward emails to"))
    def address(self, source: EmailSource) -> str:
        return source.address if source.pk else _("(shown once saved)")

    @admin.display(description=_("Emails"))
    def messages_link(self, source: EmailSource) -> str:
        url = reverse("admin:inbound_inboundmessage_changelist")
        query = urlencode({"path": email_route(source)})
        return format_html('<a href="{}?{}">{}</a>', url, query, _("received"))
