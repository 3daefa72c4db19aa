"""Development email: each message a .eml file, announced in one line (DEVELOPERS.md: `make run`
must not bury its logins under raw MIME)."""

import logging
import secrets
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

logger = logging.getLogger(__name__)


class EmailFileBackend(BaseEmailBackend):
    """Writes each email to EMAIL_FILE_PATH as `<time>-<random>.eml` (any mail client opens it)."""

    def send_messages(self, email_messages) -> int:
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            path = folder / f"{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(4)}.eml"
            path.write_bytes(message.message().as_bytes())
            recipients = ", ".join(message.recipients())
            logger.info("Email to %s: %s → %s", recipients, message.subject, path)
        return len(email_messages)
