"""The SSRF guard at connection time for the OMS channels: an SFTP source or a queue whose address
is (or has become) our own network is never connected to. Rows are created directly, as if
saved before the guard existed or before their name was pointed elsewhere (DNS answers come from a
fake resolver, the process boundary). Production settings: DEBUG off."""

import os
import socket
import time

import pytest

from ingest.channels.brokers import Amqp10Broker, BrokerUnavailable, RabbitMqBroker, SqsBroker
from ingest.channels.files import file_source_poll
from ingest.models import FileSource, InboundFile, QueueSource
from ingest.tests.channel_samples import CSV_MAPPING, CSV_SAMPLE, dictionary
from ingest.tests.sftp_server import SftpServer
from orders.models import Order

pytestmark = pytest.mark.django_db

NOT_PUBLIC = "The host internal.fred.example is not a public internet address."


@pytest.fixture(autouse=True)
def production(settings, monkeypatch, fake_dns):
    settings.DEBUG = False
    fake_dns({"internal.fred.example": "10.0.0.5"})
    # Should the guard ever let one through, no packet leaves the machine: the test just fails.
    connect = socket.socket.connect

    def loopback_only(sock, address):
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"the test allows loopback only, not {address[0]}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


def _sftp_source(merchant, host: str, port: int, host_key: str) -> FileSource:
    return FileSource.objects.create(
        merchant=merchant, name="their sftp", kind="sftp", host=host, port=port,
        username="oms", password="s3cret", host_key=host_key, directory="/outbox",
        archive_directory="/archive", error_directory="/error",
        dictionary=dictionary(merchant, "csv", CSV_MAPPING),
    )  # fmt: skip


def test_an_sftp_server_on_loopback_is_never_connected_to_in_production(merchant, tmp_path):
    # given: an SFTP server listening on 127.0.0.1, a file waiting
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "orders.csv").write_text(CSV_SAMPLE)
    os.utime(tmp_path / "outbox" / "orders.csv", (time.time() - 600, time.time() - 600))
    with SftpServer(tmp_path, password="s3cret") as server:
        source = _sftp_source(merchant, "127.0.0.1", 22, server.host_key_line)
        # when
        file_source_poll(source, deadline=time.monotonic() + 30)
    # then: refused before connecting; the file untouched
    assert (server.transports, server.auth.logins) == ([], [])
    source.refresh_from_db()
    assert source.last_error == (
        "Refused to connect to 127.0.0.1: The host 127.0.0.1 is not a public internet address."
    )
    assert os.listdir(tmp_path / "outbox") == ["orders.csv"]
    assert not InboundFile.objects.exists() and not Order.objects.exists()


def test_an_sftp_host_whose_name_now_leads_to_our_network_is_refused(merchant, tmp_path):
    # given
    with SftpServer(tmp_path, password="s3cret") as server:
        source = _sftp_source(merchant, "internal.fred.example", 22, server.host_key_line)
        # when
        file_source_poll(source, deadline=time.monotonic() + 30)
    # then
    source.refresh_from_db()
    assert source.last_error == f"Refused to connect to internal.fred.example: {NOT_PUBLIC}"


def test_a_rabbitmq_broker_on_loopback_is_refused_in_production(merchant):
    # given
    source = QueueSource.objects.create(
        merchant=merchant, name="oms", kind="rabbitmq", queue_name="orders",
        url="amqp://guest:guest@127.0.0.1:5672/%2F",
    )  # fmt: skip
    broker = RabbitMqBroker(source)
    # when
    with pytest.raises(BrokerUnavailable) as refused:
        broker.connect()
    # then
    assert str(refused.value) == ("The host 127.0.0.1 is not a public internet address.")
    assert broker._connection is None


def test_an_sqs_queue_url_on_our_network_is_refused(merchant):
    # given
    source = QueueSource.objects.create(
        merchant=merchant, name="oms", kind="sqs", region="us-east-1",
        url="https://internal.fred.example/123456789012/orders",
    )  # fmt: skip
    broker = SqsBroker(source)
    # when
    with pytest.raises(BrokerUnavailable) as refused:
        broker.connect()
    # then
    assert str(refused.value) == NOT_PUBLIC
    assert broker._client is None


def test_an_amqp_1_0_broker_whose_name_leads_to_our_network_is_refused(merchant):
    # given
    source = QueueSource.objects.create(
        merchant=merchant, name="oms", kind="amqp10", queue_name="orders",
        url="amqps://oms:s3cret@internal.fred.example:5671",
    )  # fmt: skip
    broker = Amqp10Broker(source)
    # when
    with pytest.raises(BrokerUnavailable) as refused:
        broker.connect()
    # then: refused before connecting, the password in no message
    assert str(refused.value) == NOT_PUBLIC
    assert broker._connection is None
