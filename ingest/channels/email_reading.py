"""Reading a shipping email: MIME decoded (text and HTML parts, their charsets, quoted-printable
and base64, encoded-word subjects), its tracking numbers found by carrier detection with check
digits, and the order reference the merchant's rule points to. No database: ApiError says why an
email cannot be read."""

import email
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser

from carriers.detection import Detection, detect_carrier
from flextracker.errors import ApiError, InvalidData

# Either a run of letters and digits, or digits printed in groups ("9400 1000 0000 …").
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:\d{4}(?:[ \u00a0]\d{4}){3,6}(?:[ \u00a0]\d{1,4})?|[A-Za-z0-9]{8,40})"
    r"(?![A-Za-z0-9])"
)
# A format with letters, a prefix or an unusual length beside its check digit (detection's score
# 0.8 and up) is taken anywhere; a bare length with a check digit fits one number in ten, so it is
# taken only just after words that announce a tracking number.
CONFIDENT_SCORE = 0.8
_ANNOUNCED = re.compile(
    r"(?i)(track|tracking|shipment|sendung|suivi|seguimiento|waybill|air ?bill)[^\n]{0,60}$"
)
# A carrier's own notification, known by its sender's domain, decides an ambiguous number.
SENDER_CARRIERS = {
    "ups.com": "ups", "fedex.com": "fedex", "usps.com": "usps", "dhl.com": "dhl", "dhl.de": "dhl",
    "canadapost.ca": "canada_post", "canadapost-postescanada.ca": "canada_post",
}  # fmt: skip
MAX_ORDER_ID = 100
# The merchant writes the order pattern: it reads a bounded text, however it backtracks.
MAX_PATTERN_TEXT = 50_000


@dataclass(frozen=True, slots=True)
class FoundNumber:
    number: str
    carrier: str  # "" when several carriers fit: the merchant's data decides (carrier_resolve)


@dataclass(frozen=True, slots=True)
class ShippingEmail:
    message_key: str  # its Message-ID, else a digest of its bytes: the same email is one key
    sender: str
    subject: str
    text: str  # every text and HTML part as text, the subject first
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message.get(name, "") or "").strip()


def email_read(raw: bytes) -> ShippingEmail:
    """The email in `raw` (RFC 822 bytes); ApiError UNREADABLE_EMAIL when it is no email."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        sender = parseaddr(str(message.get("From", "")))[1].lower()
        subject = " ".join(str(message.get("Subject", "")).split())
        parts = [subject, *_texts(message)]
    except Exception as error:  # the email package raises many kinds on broken input
        raise _unreadable(
            f"its MIME structure cannot be decoded ({type(error).__name__})."
        ) from error
    if message.defects and not message.keys():
        raise _unreadable("it has no headers.")
    if len(parts) == 1 and not subject:
        raise _unreadable("it has neither a subject nor a text or HTML part.")
    return ShippingEmail(_message_key(message, raw), sender, subject, "\n".join(parts), message)


def message_key(raw: bytes) -> str:
    """The natural key of the email in `raw` without reading the rest of it."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except Exception:
        return _digest(raw)
    return _message_key(message, raw)


def _message_key(message: EmailMessage, raw: bytes) -> str:
    try:
        message_id = str(message.get("Message-ID", "") or "").strip()
    except Exception:
        message_id = ""
    return f"email:{message_id[:240]}" if message_id else _digest(raw)


def _digest(raw: bytes) -> str:
    # Emails without a Message-ID (several carriers' samples): the same bytes are the same email.
    return f"email-sha256:{hashlib.sha256(raw).hexdigest()}"


def _unreadable(reason: str) -> ApiError:
    return InvalidData(f"The email cannot be read: {reason}", code="UNREADABLE_EMAIL")


def _texts(message: EmailMessage) -> list[str]:
    texts = []
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.get_content_disposition() == "attachment":
            continue
        text = _decoded(part)
        texts.append(_html_text(text) if part.get_content_subtype() == "html" else text)
    return texts


def _decoded(part) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: most such mail is UTF-8 or Latin-1
        return payload.decode("utf-8", errors="replace")


class _TextOfHtml(HTMLParser):
    """The visible text of an HTML part, each block on its own line, and its links' targets
    (a carrier's "track" link holds the number as often as the text does)."""

    BLOCKS = {"p", "div", "br", "tr", "td", "th", "li", "table", "h1", "h2", "h3", "h4", "a"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._hidden += 1
        if tag in self.BLOCKS:
            self.lines.append("\n")
        self.links.extend(value for name, value in attrs if name == "href" and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self._hidden:
            self._hidden -= 1
        if tag in self.BLOCKS:
            self.lines.append("\n")

    def handle_data(self, data):
        if not self._hidden:
            self.lines.append(data)


def _html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return "".join(parser.lines) + "\n" + "\n".join(parser.links)


def tracking_numbers_find(shipping_email: ShippingEmail) -> list[FoundNumber]:
    """Each tracking number in the email once, in the order they first appear."""
    sender_carrier = SENDER_CARRIERS.get(_domain_of(shipping_email.sender), "")
    found: dict[str, FoundNumber] = {}
    for match in _TOKEN.finditer(shipping_email.text):
        detection = detect_carrier(match.group())
        if detection.number in found or not _credible(
            detection, shipping_email.text, match.start()
        ):
            continue
        found[detection.number] = FoundNumber(detection.number, _carrier(detection, sender_carrier))
    return list(found.values())


def _credible(detection: Detection, text: str, start: int) -> bool:
    if not detection.candidates:
        return False
    if detection.candidates[0].score >= CONFIDENT_SCORE:
        return True
    return bool(_ANNOUNCED.search(text, max(0, start - 80), start))


def _carrier(detection: Detection, sender_carrier: str) -> str:
    if detection.carrier:
        return detection.carrier
    fitting = {candidate.carrier for candidate in detection.candidates}
    return sender_carrier if sender_carrier in fitting else ""


def _domain_of(address: str) -> str:
    domain = address.rpartition("@")[2]
    return next((known for known in SENDER_CARRIERS if domain == known or
                 domain.endswith("." + known)), domain)  # fmt: skip


def order_ids_find(shipping_email: ShippingEmail, *, header: str, pattern: str) -> list[str]:
    """The order IDs the merchant's rule reads in the email, best first: the header's value when
    the rule names a header the email has, else each distinct first group of the pattern."""
    if header and (value := shipping_email.header(header)):
        return [value[:MAX_ORDER_ID]]
    if not pattern:
        return []
    found = dict.fromkeys(
        match.group(1)[:MAX_ORDER_ID]
        for match in re.finditer(pattern, shipping_email.text[:MAX_PATTERN_TEXT])
        if match.groups() and match.group(1)
    )
    return list(found)


def sender_accepted(sender: str, accepted: str) -> bool:
    """Whether `accepted` (one address or @domain per line; blank: anyone) lets `sender` in."""
    rules = [line.strip().lower() for line in accepted.splitlines() if line.strip()]
    if not rules:
        return True
    return any(sender == rule or (rule.startswith("@") and sender.endswith(rule)) for rule in rules)
