"""Is a merchant's webhook URL safe for us to call? (RELIABILITY.md, "Sending webhooks": SSRF.)

A webhook URL makes our servers send requests wherever a merchant says, so it must not reach our
own network: the cloud metadata service, the database, localhost. The rules: https (http only in
development), port 80 or 443, no credentials in the URL, and every address the host resolves to
(A and AAAA) is a public internet address. An IPv6 address that embeds an IPv4 one
(`::ffff:169.254.169.254`, 6to4, Teredo) is judged by the IPv4 address inside it.

DNS can change between this check and the request (rebinding), so delivery calls
`resolve_checked` at every attempt and connects to the addresses it returns, never resolving the
name again. Pure functions: no ORM, no settings (callers pass `allow_http=settings.DEBUG`).
"""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_PORTS = {80, 443}
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean…
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


class UnsafeWebhookUrl(ValueError):
    """The URL fails the checks; `problems` says why, in words a merchant can act on."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def check_webhook_url(url: str, *, allow_http: bool) -> list[str]:
    """What is wrong with `url` as a webhook target; an empty list means it is safe to call."""
    problems, _addresses = _check(url, allow_http)
    return problems


def resolve_checked(url: str, allow_http: bool) -> list[IPAddress]:
    """The addresses `url`'s host resolves to, all checked: connect to one of these.

    Raises UnsafeWebhookUrl when the URL fails any check (at delivery time: do not send).
    """
    problems, addresses = _check(url, allow_http)
    if problems:
        raise UnsafeWebhookUrl(problems)
    return addresses


def _check(url: str, allow_http: bool) -> tuple[list[str], list[IPAddress]]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ["This is not a valid URL."], []
    problems = _shape_problems(parts, port, allow_http)
    if problems:
        return problems, []
    host = parts.hostname
    addresses = _resolve(host, port)
    if not addresses:
        return [f"The host {host} could not be resolved."], []
    problems = [
        f"The host {host} resolves to {address}, which is not a public internet address."
        for address in addresses
        if not is_public_address(address)
    ]
    return problems, addresses


def _shape_problems(parts: SplitResult, port: int | None, allow_http: bool) -> list[str]:
    problems = []
    scheme = parts.scheme.lower()
    if scheme == "http" and not allow_http:
        problems.append("Use https; plain http is accepted only in development.")
    elif scheme not in ("https", "http"):
        problems.append("Use an https:// URL.")
    if not parts.hostname:
        problems.append("The URL has no host.")
    if "@" in parts.netloc:
        problems.append("Credentials in the URL (user:password@) are not allowed.")
    if port is not None and port not in ALLOWED_PORTS:
        problems.append(f"Port {port} is not allowed; use 443 (or 80).")
    return problems


def _resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every A and AAAA address of `host` (an IP literal is its own answer), deduplicated."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # socket.gaierror is an OSError; bad IDNA is a UnicodeError
        return []
    addresses = []
    for _family, _type, _proto, _canonname, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def is_public_address(address: IPAddress) -> bool:
    """True for a global unicast address; the explicit tests below do not trust `is_global`
    alone, which calls multicast and the deprecated IPv4-compatible range global."""
    address = _embedded_ipv4(address) or address
    return not (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in METADATA_ADDRESSES
        or (address.version == 4 and address in SHARED_ADDRESS_SPACE)
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or Teredo IPv6 address, if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where packets end up
    return None
