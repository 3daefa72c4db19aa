"""Where OMS messages come from besides the API: format dictionaries, file and queue sources,
Shopify shops, email sources, and the files read from them."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class InboundFileStatus(models.TextChoices):
    PROCESSING = "processing", _("Being processed")
    PROCESSED = "processed", _("Processed")
    WITH_ERRORS = "with_errors", _("Processed; some records rejected (in the error folder)")
    DUPLICATE = "duplicate", _("Same content as a file already processed; not processed again")


class InboundFile(models.Model):
    """A file a merchant's OMS dropped (our local folder or their SFTP server), read record by
    record: each record is an InboundMessage whose `source` starts with `source_prefix`."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    source = models.ForeignKey("FileSource", null=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=InboundFileStatus.choices, default=InboundFileStatus.PROCESSING
    )
    # Records handed to the channel so far: a resumed file skips these (eventIds cover the rest).
    records_read = models.PositiveIntegerField(default=0)
    records_accepted = models.PositiveIntegerField(default=0)
    records_rejected = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    problem = models.CharField(max_length=500, blank=True)  # why the rest could not be read
    report = models.JSONField(default=list, blank=True)  # the first failed records
    moved_to = models.CharField(max_length=1000, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "orders_inboundfile"
        ordering = ["-started_at"]
        constraints = [
            # A duplicate (the same content dropped again) gets a row of its own, never read.
            models.UniqueConstraint(
                fields=["source", "sha256"],
                condition=~Q(status="duplicate"),
                name="inbound_file_unique",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "-started_at"], name="inbound_file_recent_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def source_prefix(self) -> str:
        """How this file's records name their source in the inbound message log."""
        return f"{self.name[:200]} #{self.pk} "


class MessageFormat(models.TextChoices):
    JSON = "json", "JSON"
    CSV = "csv", "CSV"
    XML = "xml", "XML"


class FormatDictionary(models.Model):
    """How one merchant's OMS writes its messages, mapped onto our event envelope (API.md
    `/events`): field names and nesting of their choosing, their own status words."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="format_dictionaries"
    )
    name = models.CharField(max_length=100)
    format = models.CharField(max_length=8, choices=MessageFormat.choices)
    # The mapping itself; its shape is documented with the code that applies it
    # (ingest/channels/dictionaries.py).
    mapping = models.JSONField(default=dict)
    sample = models.TextField(blank=True, help_text=_("A message of theirs, to test the mapping."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "merchants_formatdictionary"
        verbose_name_plural = _("format dictionaries")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="format_dictionary_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_format_display()})"


class FileSourceKind(models.TextChoices):
    LOCAL = "local", _("Local drop folder")
    SFTP = "sftp", _("SFTP server")


class FileSource(models.Model):
    """A folder where the merchant's OMS drops files: ours (local) or theirs (SFTP)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="file_sources")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=FileSourceKind.choices)
    dictionary = models.ForeignKey(FormatDictionary, on_delete=models.PROTECT, related_name="+")
    directory = models.CharField(max_length=500, help_text=_("Where new files arrive."))
    file_pattern = models.CharField(max_length=100, default="*")
    archive_directory = models.CharField(max_length=500)
    error_directory = models.CharField(max_length=500)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=22)
    username = models.CharField(max_length=100, blank=True)
    password = models.CharField(max_length=200, blank=True, help_text=_("Stored as given."))
    private_key = models.TextField(blank=True, help_text=_("PEM/OpenSSH; stored as given."))
    host_key = models.CharField(
        max_length=2000,
        blank=True,
        help_text=_("The server's public key, pinned: “ssh-ed25519 AAAA…”."),
    )
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "merchants_filesource"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="file_source_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueKind(models.TextChoices):
    RABBITMQ = "rabbitmq", "RabbitMQ"
    SQS = "sqs", "Amazon SQS"
    AMQP10 = "amqp10", "AMQP 1.0 (IBM MQ, ActiveMQ, Azure Service Bus, RabbitMQ 4)"


class QueueSource(models.Model):
    """A queue the merchant's OMS publishes to; `manage.py consume <merchantId>` reads it."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="queue_sources")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=QueueKind.choices)
    url = models.CharField(
        max_length=500,
        help_text=_(
            "amqp://user:password@host:5672/vhost (RabbitMQ), the SQS queue URL, or "
            "amqps://user:password@host:5671 (AMQP 1.0)."
        ),
    )
    queue_name = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("RabbitMQ: the queue. AMQP 1.0: the address to receive from. Not for SQS."),
    )
    dead_letter_queue = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("Queue name (RabbitMQ), URL (SQS) or address (AMQP 1.0)."),
    )
    region = models.CharField(max_length=32, blank=True, help_text=_("SQS only."))
    # Blank: the messages already are our event envelope.
    dictionary = models.ForeignKey(
        FormatDictionary, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table it had in the app it came from (moved without copying a row).
        db_table = "merchants_queuesource"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="queue_source_unique"),
        ]

    def __str__(self) -> str:
        return self.name


def new_address_token() -> str:
    # Unguessable: whoever knows the address can hand us emails for this merchant.
    return secrets.token_hex(10)


# "Order #123-1234567-1234567", "order number: 1001", "Bestellung 1001": the first group is the ID
# (it holds a digit, so "order has shipped" names no order).
DEFAULT_ORDER_PATTERN = (
    r"(?i)\b(?:order|bestellung|commande|pedido)\b(?:\s+(?:number|no\.?|nr\.?|n°))?\s*[:#]?\s*"
    r"#?([A-Z0-9][A-Z0-9-]*[0-9][A-Z0-9-]*)"
)


class EmailSource(models.Model):
    """Where a merchant's shipping confirmations and carrier emails reach us: forwarded to its
    own address (`manage.py receive_email` listens), or read from its mailbox over IMAP (polled
    each minute). Either way each email goes through the channel core (ingest/channels/email.py)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="email_sources")
    name = models.CharField(max_length=100)
    address_token = models.CharField(
        max_length=40, unique=True, default=new_address_token, editable=False
    )
    order_header = models.CharField(
        max_length=100, blank=True,
        help_text=_("A header that carries the order ID (e.g. X-Order-Id); it wins over the "
                    "pattern."),
    )  # fmt: skip
    order_pattern = models.CharField(
        max_length=300, blank=True, default=DEFAULT_ORDER_PATTERN,
        help_text=_("A regular expression over the subject and the text; its first group is the "
                    "order ID. Blank: emails are matched to no order."),
    )  # fmt: skip
    accepted_senders = models.TextField(
        blank=True,
        help_text=_("One address or @domain per line (e.g. @ups.com). Blank: any sender."),
    )
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_use_tls = models.BooleanField(_("IMAP over TLS"), default=True)
    imap_username = models.CharField(_("IMAP user"), max_length=200, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=200, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    # The mailbox's UIDVALIDITY and the last UID read in it: a new UIDVALIDITY starts over.
    imap_uid_validity = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.PositiveBigIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="email_source_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address(self) -> str:
        return f"{self.address_token}@{settings.INBOUND_EMAIL_DOMAIN}"

    @property
    def reads_mailbox(self) -> bool:
        return bool(self.imap_host)
