"""The name service, faked at the process boundary (`socket.getaddrinfo`) for tests that give
merchants' URLs to the SSRF guard: nothing here ever connects anywhere."""

import ipaddress
import socket

PUBLIC_ADDRESS = "93.184.216.34"  # what a public name resolves to in tests; never connected to


def fake_resolver(monkeypatch, answers: dict[str, str], *, others_public: bool) -> dict[str, str]:
    """Installs a resolver: a name in `answers` (which the test may change later) gets its
    address, an IP literal itself, any other name PUBLIC_ADDRESS, or no answer at all."""

    def getaddrinfo(host, port, *args, **kwargs):
        address = answers.get(host) or _literal(host) or (PUBLIC_ADDRESS if others_public else None)
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return None
