"""The one SSRF guard on every address a merchant configures. No internet needed: IP-literal
hosts, `localhost` and numeric forms resolve locally; DNS names go through a fake
`socket.getaddrinfo` (the process boundary)."""

import ipaddress
import socket

import pytest

from flextracker.urlguard import (
    PRODUCTION,
    RABBITMQ,
    SFTP_PORTS,
    UnsafeUrl,
    check_host,
    check_url,
    resolve_checked,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


@pytest.fixture
def dns(fake_dns):
    """A fake resolver (tests/network.py): only the names the test gives addresses exist."""
    return fake_dns(others_public=False)


def _not_public(host: str) -> str:
    return f"The host {host} is not a public internet address."


# --- Accepted ----------------------------------------------------------------------------------


def test_a_public_https_name_is_accepted_after_asking_for_both_a_and_aaaa(dns):
    # given
    dns["hooks.example.com"] = [PUBLIC_V4, PUBLIC_V6]
    # when
    problems = check_url("https://hooks.example.com/tracking", allowance=PRODUCTION)
    addresses = resolve_checked("https://hooks.example.com/tracking", allowance=PRODUCTION)
    # then
    assert problems == []
    assert addresses == [ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6)]
    assert dns.calls == [("hooks.example.com", 443, socket.AF_UNSPEC)] * 2


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC_V4}/hooks",
        f"https://{PUBLIC_V4}:443/hooks",
        f"https://{PUBLIC_V4}:80/hooks",
        f"https://[{PUBLIC_V6}]/hooks",
    ],
)
def test_public_ip_literals_on_ports_443_and_80_are_accepted(url):
    assert check_url(url, allowance=PRODUCTION) == []


def test_http_is_accepted_only_in_development(settings):
    # given
    settings.DEBUG = True
    # when
    allowed = check_url(f"http://{PUBLIC_V4}/hooks")
    refused = check_url(f"http://{PUBLIC_V4}/hooks", allowance=PRODUCTION)
    # then
    assert refused == ["Use https; plain http is accepted only in development."]
    assert allowed == []


# --- Refused: the shape of the URL -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problems"),
    [
        (f"ftp://{PUBLIC_V4}/hooks", ["Use an https:// URL."]),
        ("hooks.example.com/tracking", ["Use an https:// URL.", "The URL has no host."]),
        ("https:///tracking", ["The URL has no host."]),
        (f"https://{PUBLIC_V4}:8443/hooks", ["Port 8443 is not allowed; use 443 (or 80)."]),
        (f"https://{PUBLIC_V4}:22/hooks", ["Port 22 is not allowed; use 443 (or 80)."]),
        (f"https://{PUBLIC_V4}:99999/hooks", ["This is not a valid URL."]),
        ("https://[::1/hooks", ["This is not a valid URL."]),
        (
            f"https://user:secret@{PUBLIC_V4}/hooks",
            ["Credentials in the URL (user:password@) are not allowed."],
        ),
        (
            f"https://{PUBLIC_V4}@10.0.0.1/hooks",
            ["Credentials in the URL (user:password@) are not allowed."],
        ),
    ],
)
def test_urls_of_the_wrong_shape_are_refused_before_any_lookup(dns, url, problems):
    # when
    result = check_url(url, allowance=PRODUCTION)
    # then
    assert result == problems
    assert dns.calls == []


# --- Refused: where the host leads -------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",  # private
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",  # loopback
        "[::1]",
        "169.254.169.254",  # cloud metadata (link-local)
        "[fd00:ec2::254]",  # AWS metadata over IPv6
        "[::ffff:169.254.169.254]",  # IPv4-mapped metadata
        "[::ffff:10.0.0.1]",  # IPv4-mapped private
        "[2002:7f00:1::]",  # 6to4 wrapping 127.0.0.1
        "[fe80::1]",  # link-local
        "[fc00::1]",  # unique local
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "224.0.0.1",  # multicast, which `is_global` calls global
        "[ff02::1]",
        "240.0.0.1",  # reserved
        "0.0.0.0",  # noqa: S104 - unspecified
        "[::]",
        # IANA special-purpose blocks that Python 3.11's `is_global` calls global
        "192.0.0.8",  # IPv4 dummy address
        "192.88.99.1",  # deprecated 6to4 relay anycast
        "[64:ff9b::a00:5]",  # NAT64 wrapping 10.0.0.5
        "[3fff::1]",  # documentation (2024)
        "[5f00::1]",  # SRv6 SIDs
        "[fec0::1]",  # deprecated site-local
        # and others it already refuses
        "192.0.2.1",
        "198.18.0.1",
        "[2001:db8::1]",
        "[100::1]",
    ],
)
def test_ip_literals_that_are_not_public_are_refused(host):
    # given
    address = host.strip("[]")
    # when
    problems = check_url(f"https://{host}/hooks", allowance=PRODUCTION)
    # then
    assert problems == [_not_public(address)]


def test_localhost_is_refused():
    # when
    problems = check_url("https://localhost/hooks", allowance=PRODUCTION)
    # then
    assert _not_public("localhost") in problems
    assert set(problems) <= {_not_public("localhost")}


def test_a_numeric_spelling_of_loopback_is_refused_by_what_it_resolves_to():
    # 2130706433 is 127.0.0.1 to the resolver (inet_aton), with no DNS query.
    assert check_url("https://2130706433/hooks", allowance=PRODUCTION) == [
        _not_public("2130706433")
    ]


def test_a_name_resolving_to_a_private_address_is_refused(dns):
    # given
    dns["internal.example.com"] = ["10.1.2.3"]
    # when
    problems = check_url("https://internal.example.com/hooks", allowance=PRODUCTION)
    # then
    assert problems == [_not_public("internal.example.com")]


def test_a_name_is_refused_when_any_one_of_its_addresses_is_not_public(dns):
    # given: a public A record and an AAAA record mapping the metadata service
    dns["mixed.example.com"] = [PUBLIC_V4, "::ffff:169.254.169.254"]
    # when
    problems = check_url("https://mixed.example.com/hooks", allowance=PRODUCTION)
    # then
    assert problems == [_not_public("mixed.example.com")]


def test_a_name_that_does_not_resolve_is_refused(dns):
    assert check_url("https://nowhere.example.com/hooks", allowance=PRODUCTION) == [
        "The host nowhere.example.com could not be resolved."
    ]


def test_resolve_checked_raises_with_the_problems_instead_of_returning_unsafe_addresses(dns):
    # given
    dns["rebound.example.com"] = ["127.0.0.1"]
    # when
    with pytest.raises(UnsafeUrl) as raised:
        resolve_checked("https://rebound.example.com/hooks", allowance=PRODUCTION)
    # then
    assert raised.value.problems == [_not_public("rebound.example.com")]


# --- Other kinds of connection: queues and SFTP --------------------------------------------------


def test_a_rabbitmq_url_keeps_its_credentials_and_needs_a_public_host_and_an_amqp_port():
    # when
    public = check_url(f"amqps://oms:pw@{PUBLIC_V4}/orders", RABBITMQ, PRODUCTION)
    private = check_url("amqp://oms:pw@10.0.0.5:5672/orders", RABBITMQ, PRODUCTION)
    management_port = check_url(f"amqp://oms:pw@{PUBLIC_V4}:15672/", RABBITMQ, PRODUCTION)
    web = check_url(f"https://{PUBLIC_V4}/", RABBITMQ, PRODUCTION)
    # then
    assert public == []
    assert private == [_not_public("10.0.0.5")]
    assert management_port == ["Port 15672 is not allowed; use 5672 (or 5671)."]
    assert web == ["Use an amqp:// or amqps:// URL."]


def test_an_sftp_host_must_be_public_and_on_an_sftp_port():
    assert check_host(PUBLIC_V4, 22, SFTP_PORTS, PRODUCTION) == []
    assert check_host(PUBLIC_V4, 2222, SFTP_PORTS, PRODUCTION) == []
    assert check_host(PUBLIC_V4, 6379, SFTP_PORTS, PRODUCTION) == [
        "Port 6379 is not allowed; use 22 (or 2222)."
    ]
    assert check_host("127.0.0.1", 22, SFTP_PORTS, PRODUCTION) == [_not_public("127.0.0.1")]
    assert check_host(" ", 22, SFTP_PORTS, PRODUCTION) == ["The host is missing."]


# --- Development (issue 17): DEBUG, or the hosts it lists; never in production -----------------

LOCAL_RECEIVER = "http://127.0.0.1:8628/hooks"


def test_with_debug_on_a_developer_may_use_loopback_private_hosts_and_any_port(settings):
    # given: DEBUG, OUTBOUND_URL_ALLOWED_HOSTS at its default ("*")
    settings.DEBUG = True
    # when
    problems = [
        check_url(LOCAL_RECEIVER),
        check_url("http://[::1]:3000/hooks"),
        check_url("https://10.0.0.5:8443/hooks"),
        check_host("192.168.1.20", 2022, SFTP_PORTS),
        check_url("amqp://guest:guest@127.0.0.1:5673/", RABBITMQ),
    ]
    # then
    assert problems == [[], [], [], [], []]


def test_with_debug_on_only_the_listed_hosts_are_opened(settings):
    # given
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1", "[::1]"]
    # when
    listed = [check_url(LOCAL_RECEIVER), check_url("http://[::1]:3000/hooks")]
    other = check_url("http://10.0.0.5:8080/hooks")
    # then
    assert listed == [[], []]
    assert other == [
        "Use https; plain http is accepted only in development.",
        "Port 8080 is not allowed; use 443 (or 80).",
    ]


@pytest.mark.parametrize("allowed_hosts", [["*"], ["127.0.0.1"]])
def test_without_debug_the_list_opens_nothing(settings, allowed_hosts):
    # given: production (DEBUG off) with a list left in its environment
    settings.DEBUG = False
    settings.OUTBOUND_URL_ALLOWED_HOSTS = allowed_hosts
    # when
    problems = check_url("https://127.0.0.1/hooks")
    # then
    assert problems == [_not_public("127.0.0.1")]


def test_the_cloud_metadata_service_is_refused_even_in_development(settings):
    # given
    settings.DEBUG = True
    # when
    problems = check_url("http://169.254.169.254/latest/meta-data/")
    # then
    assert problems == [_not_public("169.254.169.254")]


@pytest.mark.parametrize(
    "url", ["https://[::127.0.0.1]/", "https://[::a9fe:a9fe]/", "https://[::1.1.1.1]/",
            "https://[::ffff:0:a9fe:a9fe]/"],
)  # fmt: skip
def test_ipv4_compatible_and_translated_ipv6_forms_are_refused(url):
    # when
    problems = check_url(url, allowance=PRODUCTION)
    # then
    host = url.removeprefix("https://[").removesuffix("]/")
    assert problems == [_not_public(host)]


def test_a_refusal_never_says_what_our_dns_answered(dns):
    # given: a merchant's name that our resolver maps into our own network
    dns["db.internal.example"] = ["10.0.3.7"]
    # when
    problems = check_url("https://db.internal.example/hook", allowance=PRODUCTION)
    # then
    assert problems == ["The host db.internal.example is not a public internet address."]
    assert "10.0.3.7" not in " ".join(problems)
