"""A small IMAP4rev1 server on 127.0.0.1 for tests, speaking what imapclient sends to read a
mailbox — CAPABILITY, LOGIN, SELECT, UID SEARCH (UNSEEN, UID n:*), UID FETCH (BODY.PEEK[] or
RFC822), UID STORE +FLAGS, LOGOUT — over a real socket (RFC 3501 framing, literals included).
Chosen over Debian's dovecot: no root, no package in CI, and every command it was sent is kept,
so a test can tell *when* a message was flagged \\Seen."""

import re
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class StoredEmail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailbox:
    username: str = "orders@fred.example"
    password: str = "mailbox-secret"
    folder: str = "INBOX"
    uid_validity: int = 1700000000
    emails: list[StoredEmail] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # as received, the LOGIN password masked

    def append(self, raw: bytes, *, seen: bool = False) -> int:
        uid = (self.emails[-1].uid if self.emails else 0) + 1
        self.emails.append(StoredEmail(uid, raw, {"\\Seen"} if seen else set()))
        return uid

    def seen_uids(self) -> list[int]:
        return [stored.uid for stored in self.emails if "\\Seen" in stored.flags]


class _Session(socketserver.StreamRequestHandler):
    mailbox: Mailbox

    def handle(self):
        self._send(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake IMAP ready")
        while line := self.rfile.readline():
            tag, _, rest = line.rstrip(b"\r\n").decode().partition(" ")
            command, _, arguments = rest.partition(" ")
            name = command.upper()
            if name == "UID":
                name, _, arguments = arguments.partition(" ")
                name = "UID " + name.upper()
            self.mailbox.commands.append(f"{name} {arguments}" if name != "LOGIN" else "LOGIN ***")
            answer = getattr(self, "_" + name.lower().replace(" ", "_"), None)
            if answer is None:
                self._send(f"{tag} BAD unknown command".encode())
            elif answer(tag, arguments) == "bye":
                return

    def _send(self, data: bytes) -> None:
        self.wfile.write(data + b"\r\n")

    def _capability(self, tag, _arguments):
        self._send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN")
        self._send(f"{tag} OK CAPABILITY completed".encode())

    def _login(self, tag, arguments):
        words = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', arguments)
        user, password = [_unquoted(word) for word in words]
        if (user, password) != (self.mailbox.username, self.mailbox.password):
            self._send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials".encode())
            return
        self._send(f"{tag} OK LOGIN completed".encode())

    def _select(self, tag, arguments):
        if _unquoted(arguments) != self.mailbox.folder:
            self._send(f"{tag} NO [NONEXISTENT] No such folder".encode())
            return
        next_uid = (self.mailbox.emails[-1].uid if self.mailbox.emails else 0) + 1
        for line in (
            f"* {len(self.mailbox.emails)} EXISTS", "* 0 RECENT",
            "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
            f"* OK [UIDVALIDITY {self.mailbox.uid_validity}] UIDs valid",
            f"* OK [UIDNEXT {next_uid}] Predicted next UID",
            f"{tag} OK [READ-WRITE] SELECT completed",
        ):  # fmt: skip
            self._send(line.encode())

    def _uid_search(self, tag, arguments):
        criteria = arguments.upper().split()
        emails = self.mailbox.emails
        if criteria[:1] == ["UID"]:
            first = int(criteria[1].split(":")[0])
            newest = emails[-1].uid if emails else 0
            found = [e.uid for e in emails if e.uid >= first] or ([newest] if newest else [])
        elif criteria == ["UNSEEN"]:
            found = [e.uid for e in emails if "\\Seen" not in e.flags]
        else:
            self._send(f"{tag} BAD search criteria not supported here".encode())
            return
        self._send(" ".join(["* SEARCH", *map(str, found)]).encode())
        self._send(f"{tag} OK SEARCH completed".encode())

    def _uid_fetch(self, tag, arguments):
        uids, _, items = arguments.partition(" ")
        peek = "PEEK" in items.upper()
        for position, stored in self._selected(uids):
            if not peek:
                stored.flags.add("\\Seen")  # RFC822 / BODY[] set \Seen as a side effect
            head = f"* {position} FETCH (UID {stored.uid} BODY[] {{{len(stored.raw)}}}"
            self.wfile.write(head.encode() + b"\r\n" + stored.raw + b")\r\n")
        self._send(f"{tag} OK FETCH completed".encode())

    def _uid_store(self, tag, arguments):
        uids, mode, flags = arguments.split(" ", 2)
        for position, stored in self._selected(uids):
            if mode.upper().startswith("+FLAGS"):
                stored.flags.update(flags.strip("()").split())
            flag_list = " ".join(sorted(stored.flags))
            self._send(f"* {position} FETCH (UID {stored.uid} FLAGS ({flag_list}))".encode())
        self._send(f"{tag} OK STORE completed".encode())

    def _logout(self, tag, _arguments):
        self._send(b"* BYE logging out")
        self._send(f"{tag} OK LOGOUT completed".encode())
        return "bye"

    def _selected(self, uid_set: str):
        wanted = {int(uid) for uid in uid_set.split(",")}
        for position, stored in enumerate(self.mailbox.emails, start=1):
            if stored.uid in wanted:
                yield position, stored


def _unquoted(word: str) -> str:
    word = word.strip()
    if word.startswith('"') and word.endswith('"'):
        return re.sub(r"\\(.)", r"\1", word[1:-1])
    return word


class ImapServer:
    """Serves `mailbox` on 127.0.0.1:<port> from a thread until stopped."""

    def __init__(self, mailbox: Mailbox):
        handler = type("Session", (_Session,), {"mailbox": mailbox})
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "ImapServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
