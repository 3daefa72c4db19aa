"""Setting up an AMQP 1.0 source: the console (the password never shown back, the SSRF guard
when saved) and TLS (the broker's certificate checked for the URL's host name)."""

import contextlib
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from ingest.channels.brokers import Amqp10Broker, BrokerUnavailable
from ingest.models import QueueSource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings, fake_dns):
    """DEBUG on, loopback allowed only for the hosts a test names; other names public."""
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    fake_dns()


# --- The console -------------------------------------------------------------------------------


def test_staff_set_up_an_amqp_source_whose_password_is_never_shown(client, staff_client, merchant):
    url = "amqps://RootManageSharedAccessKey:c2VjcmV0LWtleQ%3D%3D@fred.servicebus.windows.net"
    fields = {"merchant": merchant.pk, "name": "oms-asb", "kind": "amqp10", "queue_name": "orders",
              "dead_letter_queue": "orders-rejected", "is_active": "on"}  # fmt: skip
    # when
    added = client.post(reverse("admin:ingest_queuesource_add"), {**fields, "url": url})
    # then
    assert added.status_code == 302
    source = QueueSource.objects.get()
    assert (source.kind, source.url, source.queue_name) == ("amqp10", url, "orders")
    page = client.get(reverse("admin:ingest_queuesource_change", args=[source.pk])).content
    assert b"c2VjcmV0LWtleQ" not in page
    assert "RootManageSharedAccessKey:••••@fred.servicebus.windows.net" in page.decode()


def test_an_amqp_source_needs_an_amqp_url_and_an_address(client, staff_client, merchant):
    response = client.post(reverse("admin:ingest_queuesource_add"), {
        "merchant": merchant.pk, "name": "oms", "kind": "amqp10",
        "url": "https://fred.servicebus.windows.net",
    })  # fmt: skip
    errors = response.context["adminform"].form.errors
    assert errors["url"] == ["An AMQP 1.0 URL starts with amqp:// or amqps://."]
    assert errors["queue_name"] == ["Required for AMQP 1.0: the address to receive from."]
    assert not QueueSource.objects.exists()


def test_an_amqp_url_on_our_network_is_refused_when_saved(client, staff_client, merchant, fake_dns):
    fake_dns({"mq.internal.example": "10.1.2.3"})
    response = client.post(reverse("admin:ingest_queuesource_add"), {
        "merchant": merchant.pk, "name": "oms", "kind": "amqp10", "queue_name": "orders",
        "url": "amqp://user:pw@mq.internal.example:5672",
    })  # fmt: skip
    assert response.context["adminform"].form.errors["url"] == [
        "The host mq.internal.example is not a public internet address."
    ]
    assert not QueueSource.objects.exists()


# --- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def tls_listener(tmp_path):
    """A TLS server on loopback whose certificate nobody signed, noting the host name each
    client asks for (SNI)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mq.fred.example")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("mq.fred.example")]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    asked_for: list[str | None] = []
    context.sni_callback = lambda _socket, server_name, _context: asked_for.append(server_name)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _address = listener.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(connection, server_side=True).close()
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], asked_for
    listener.close()
    thread.join(timeout=5)


def test_amqps_verifies_the_brokers_certificate_for_the_name_in_the_url(
    merchant, settings, fake_dns, tls_listener
):
    # given: the broker's name leads to a server whose certificate no CA we trust signed
    port, asked_for = tls_listener
    fake_dns({"mq.fred.example": "127.0.0.1"})
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["mq.fred.example"]
    source = QueueSource(
        merchant=merchant, kind="amqp10", queue_name="orders",
        url=f"amqps://oms:s3cret@mq.fred.example:{port}",
    )  # fmt: skip
    amqp = Amqp10Broker(source)
    # when
    with pytest.raises(BrokerUnavailable) as refused:
        amqp.connect()
    # then: TLS was spoken, for the URL's name, and the certificate refused
    assert asked_for == ["mq.fred.example"]
    assert "certificate verify failed" in str(refused.value)
    assert "s3cret" not in str(refused.value)
