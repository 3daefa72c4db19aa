"""The name service, faked at the process boundary (`socket.getaddrinfo`): for tests that give
merchants' URLs to the SSRF guard, and for tests whose local server answers under a public name.
Nothing here ever connects anywhere."""

import ipaddress
import socket

PUBLIC_ADDRESS = "93.184.216.34"  # what a public name resolves to in tests; never connected to
LOOPBACK = "127.0.0.1"


class FakeDns:
    """A name in `answers` gets its address (or list of addresses, IPv4 or IPv6), an IP literal
    itself, any other name PUBLIC_ADDRESS (`others_public`) or no answer at all.
    `dns[name] = address` changes an answer later; `calls` holds every lookup."""

    def __init__(self, answers: dict[str, str | list[str]], *, others_public: bool):
        self.answers = answers
        self.others_public = others_public
        self.calls: list[tuple[str, int | str | None, int]] = []
        self._turns: dict[str, list[str]] = {}
        self._served: dict[str, int] = {}

    def __setitem__(self, name: str, addresses: str | list[str]) -> None:
        self.answers[name] = addresses

    def answer_in_turn(self, name: str, *addresses: str) -> None:
        """Successive lookups of `name` get these addresses one by one, the last one ever after
        (DNS rebinding)."""
        self._turns[name] = list(addresses)

    def serve_locally(self, address: str, port: int) -> None:
        """A connection to `address` (on any port) reaches 127.0.0.1:`port` instead: a local
        server answers for a public address, and nothing leaves the machine."""
        self._served[address] = port

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append((host, port, family))
        if host in self._served:
            return [_entry(LOOPBACK, self._served[host])]
        addresses = self._addresses(host)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_entry(address, port or 443) for address in addresses]

    def _addresses(self, host: str) -> list[str]:
        if turns := self._turns.get(host):
            return [turns.pop(0) if len(turns) > 1 else turns[0]]
        answer = self.answers.get(host) or _literal(host)
        if answer is None and self.others_public:
            answer = PUBLIC_ADDRESS
        return [answer] if isinstance(answer, str) else answer or []


def _entry(address: str, port):
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None
