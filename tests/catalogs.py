"""Reading our gettext catalogs (locale/<lang>/LC_MESSAGES/django.po) without a dependency: the
test that every customer-facing string is translated, and .ci/messages_current, which finds
strings in the code that no catalog has yet."""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale"

# What customers read: the page, its PDF, the lookup and not-found pages, emails and SMS, and
# the carriers' statuses they show.
CUSTOMER_FACING = (
    "pages/", "templates/pages/", "templates/notifications/", "templates/404.html",
    "notifications/messages.py", "notifications/channels/sms.py", "carriers/vocabulary.py",
)  # fmt: skip
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgstrs: list[str] = field(default_factory=list)
    fuzzy: bool = False
    references: list[str] = field(default_factory=list)

    @property
    def customer_facing(self) -> bool:
        return any(ref.startswith(CUSTOMER_FACING) for ref in self.references)

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstrs) and all(self.msgstrs)


def read_po(path: Path) -> list[Entry]:
    """The catalog's entries, the header and obsolete ones left out."""
    entries, entry, key = [], Entry(), None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or line.startswith("#~"):
            if entry.msgid:
                entries.append(entry)
            entry, key = Entry(), None
        elif line.startswith("#:"):
            entry.references += [ref.rsplit(":", 1)[0] for ref in line[2:].split()]
        elif line.startswith("#,"):
            entry.fuzzy = entry.fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            _append(entry, key, ast.literal_eval(line))
        else:
            key, _, value = line.partition(" ")
            _append(entry, key, ast.literal_eval(value), new=True)
    return entries


def _append(entry: Entry, key: str | None, text: str, *, new: bool = False) -> None:
    if key == "msgid":
        entry.msgid += text
    elif key == "msgid_plural":
        entry.msgid_plural += text
    elif key is not None and key.startswith("msgstr"):
        if new:
            entry.msgstrs.append("")
        entry.msgstrs[-1] += text


def catalogs() -> dict[str, Path]:
    """Each language directory → its catalog."""
    return {
        path.parent.parent.name: path for path in sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
    }
