"""May we connect where a merchant says? The one SSRF guard (RELIABILITY.md, "Sending webhooks").

Every address a merchant can configure — carrier base URLs, webhooks, Slack, Teams, SFTP hosts,
queue URLs — makes our servers connect wherever the merchant says, so it must not reach our own
network: the cloud metadata service, the database, localhost. Each is checked when it is saved
and again when we connect. The rules: a scheme and port the kind of connection allows, no
credentials in the URL (queues excepted), and every address the host resolves to (A and AAAA)
is globally reachable: `ipaddress.is_global` and not in IANA's special-purpose registries (which
Python 3.11 does not fully know: 192.0.0.8 and 192.88.99.1 are "global" to it). An IPv6 address
that embeds an IPv4 one (`::ffff:169.254.169.254`, 6to4, Teredo, NAT64) is judged by the IPv4
address inside it.

DNS can change between this check and the connection (rebinding), so connecting code calls
`resolve_checked` at every connection and connects to the addresses it returns, never
resolving the name again.

Development: with DEBUG on (never in production), the hosts in OUTBOUND_URL_ALLOWED_HOSTS
(default: every host) may be loopback or private, on any port, over plain http. The cloud
metadata service is refused even then.
"""

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
logger = logging.getLogger(__name__)

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean…
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
# IANA's IPv4 and IPv6 special-purpose address registries: every block not globally reachable
# (a few anycast exceptions inside 192.0.0.0/24 and 2001::/23 are refused too: we never call them).
# ::/96 holds ::, ::1 and the deprecated IPv4-compatible forms (::127.0.0.1, ::a9fe:a9fe).
NOT_GLOBAL = [
    ipaddress.ip_network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64",
        "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
        "fec0::/10", "ff00::/8",
    )
]  # fmt: skip
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # reaches the IPv4 address in its last bits


@dataclass(frozen=True, slots=True)
class Target:
    """What one kind of connection may use: its schemes (each with its default port) and its
    ports, the preferred first."""

    schemes: dict[str, int]
    ports: tuple[int, ...]
    credentials_allowed: bool = False


WEB = Target({"https": 443}, (443, 80))  # webhooks, Slack, Teams, carrier APIs
RABBITMQ = Target({"amqp": 5672, "amqps": 5671}, (5672, 5671), credentials_allowed=True)
SQS = Target({"https": 443}, (443,))
SFTP_PORTS = (22, 2222)


@dataclass(frozen=True, slots=True)
class Allowance:
    """Hosts that may be loopback or private, on any port, over http: development only."""

    hosts: frozenset[str] = frozenset()

    def covers(self, host: str) -> bool:
        host = host.strip("[]").lower()
        return "*" in self.hosts or host in self.hosts


PRODUCTION = Allowance()


def development_allowance() -> Allowance:
    """OUTBOUND_URL_ALLOWED_HOSTS while DEBUG is on; nothing at all in production."""
    if not settings.DEBUG:
        return PRODUCTION
    return Allowance(frozenset(h.strip("[]").lower() for h in settings.OUTBOUND_URL_ALLOWED_HOSTS))


class UnsafeUrl(ValueError):
    """The address fails the checks; `problems` says why, in words a merchant can act on."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def check_url(url: str, target: Target = WEB, allowance: Allowance | None = None) -> list[str]:
    """What is wrong with `url` as a place to connect to; an empty list means it is safe."""
    problems, _addresses = _check_url(url, target, _allowance(allowance))
    return problems


def resolve_checked(
    url: str, target: Target = WEB, allowance: Allowance | None = None
) -> list[IPAddress]:
    """The addresses `url`'s host resolves to, all checked: connect to one of these.

    Raises UnsafeUrl when the URL fails any check (at connection time: do not connect).
    """
    problems, addresses = _check_url(url, target, _allowance(allowance))
    if problems:
        raise UnsafeUrl(problems)
    return addresses


def check_host(
    host: str, port: int, ports: tuple[int, ...], allowance: Allowance | None = None
) -> list[str]:
    """What is wrong with a bare host and port (an SFTP server); an empty list means safe."""
    problems, _addresses = _check_host(host, port, ports, _allowance(allowance))
    return problems


def resolve_host_checked(
    host: str, port: int, ports: tuple[int, ...], allowance: Allowance | None = None
) -> list[IPAddress]:
    """`resolve_checked` for a bare host and port."""
    problems, addresses = _check_host(host, port, ports, _allowance(allowance))
    if problems:
        raise UnsafeUrl(problems)
    return addresses


def _allowance(allowance: Allowance | None) -> Allowance:
    return development_allowance() if allowance is None else allowance


def _check_url(url: str, target: Target, allowance: Allowance) -> tuple[list[str], list[IPAddress]]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return [_("This is not a valid URL.")], []
    problems = _shape_problems(parts, port, target, allowance)
    if problems:
        return problems, []
    default_port = target.schemes.get(parts.scheme.lower(), 80)  # 80: http in development
    return _check_addresses(parts.hostname, port or default_port, allowance)


def _check_host(
    host: str, port: int, ports: tuple[int, ...], allowance: Allowance
) -> tuple[list[str], list[IPAddress]]:
    host = (host or "").strip()
    if not host:
        return [_("The host is missing.")], []
    if port not in ports and not allowance.covers(host):
        return [_port_refused(port, ports)], []
    return _check_addresses(host.strip("[]"), port, allowance)


def _shape_problems(
    parts: SplitResult, port: int | None, target: Target, allowance: Allowance
) -> list[str]:
    problems = []
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    developing = bool(host) and allowance.covers(host)
    if scheme == "http" and "https" in target.schemes:
        if not developing:
            problems.append(_("Use https; plain http is accepted only in development."))
    elif scheme not in target.schemes:
        problems.append(_("Use an %s URL.") % _(" or ").join(f"{s}://" for s in target.schemes))
    if not host:
        problems.append(_("The URL has no host."))
    if "@" in parts.netloc and not target.credentials_allowed:
        problems.append(_("Credentials in the URL (user:password@) are not allowed."))
    if port is not None and port not in target.ports and not developing:
        problems.append(_port_refused(port, target.ports))
    return problems


def _port_refused(port: int, ports: tuple[int, ...]) -> str:
    allowed = str(ports[0])
    if len(ports) > 1:
        allowed += f" ({_('or')} {', '.join(str(p) for p in ports[1:])})"
    return _("Port %(port)s is not allowed; use %(allowed)s.") % {"port": port, "allowed": allowed}


def _check_addresses(
    host: str, port: int, allowance: Allowance
) -> tuple[list[str], list[IPAddress]]:
    addresses = _resolve(host, port)
    if not addresses:
        return [_("The host %s could not be resolved.") % host], []
    developing = allowance.covers(host)
    refused = [
        address
        for address in addresses
        if not is_public_address(address)
        and not (developing and (_embedded_ipv4(address) or address) not in METADATA_ADDRESSES)
    ]
    if not refused:
        return [], addresses
    # The merchant learns that the host is refused, never what our DNS answered (that would map
    # internal names to addresses); the log keeps it for staff.
    logger.info("refused %s: it resolves to %s", host, ", ".join(map(str, refused)))
    return [_("The host %s is not a public internet address.") % host], addresses


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every A and AAAA address of `host` (an IP literal is its own answer), deduplicated."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):  # socket.gaierror is an OSError; bad IDNA is a UnicodeError
        return []
    addresses = []
    for _family, _type, _proto, _canonname, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def is_public_address(address: IPAddress) -> bool:
    """True for a globally reachable unicast address. `is_global` alone is not trusted: Python
    3.11 calls multicast, 192.0.0.8 and 192.88.99.1 global."""
    address = _embedded_ipv4(address) or address
    return (
        address.is_global
        and not address.is_multicast
        and address not in METADATA_ADDRESSES
        and not any(address in block for block in NOT_GLOBAL if block.version == address.version)
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address, if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where packets end up
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
