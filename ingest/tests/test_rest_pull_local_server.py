"""The generic REST pull over a real socket: an OMS on the developer's machine (a real HTTP server
on 127.0.0.1 answering a Dataverse-shaped view) is pulled in development, where
OUTBOUND_URL_ALLOWED_HOSTS opens it, and refused in production whatever that list says."""

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from ingest.channels.pulls import platform_connection_pull
from ingest.tests.channel_samples import dictionary
from ingest.tests.rest_oms import DATAVERSE_DICTIONARY, TOKEN, dataverse_order
from orders.models import Order
from platforms.models import PlatformConnection

pytestmark = pytest.mark.django_db

ORDERS = [dataverse_order(f"ORD-0100{n}-A1B2", f"2026-11-21T1{n}:00:00Z") for n in range(1, 4)]


@pytest.fixture
def oms():
    """The view at /api/data/v9.2/salesorders, two a page by `$skiptoken`; records the calls."""
    calls: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = dict(parse_qsl(urlsplit(self.path).query))
            calls.append({"query": query, "authorization": self.headers["Authorization"]})
            skip = int(query.get("$skiptoken", "0"))
            body = {"value": ORDERS[skip : skip + 2]}
            if skip + 2 < len(ORDERS):
                host = self.headers["Host"]
                body["@odata.nextLink"] = f"http://{host}/api/data/v9.2/salesorders?$skiptoken=2"
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; odata.metadata=minimal")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def _connection(merchant, base: str) -> PlatformConnection:
    return PlatformConnection.objects.create(
        merchant=merchant, name="Local OMS", kind="rest_pull", auth="bearer", secret=TOKEN,
        base_url=f"{base}/api/data/v9.2/salesorders?$filter=modifiedon ge {{since}}",
        records_path="value", page_size=2,
        dictionary=dictionary(merchant, "json", DATAVERSE_DICTIONARY),
    )  # fmt: skip


def test_in_development_an_oms_on_the_developers_machine_is_pulled(merchant, oms, settings):
    # given
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    base, calls = oms
    connection = _connection(merchant, base)
    # when
    delivered = platform_connection_pull(connection, deadline=math.inf)
    # then
    assert delivered == 3
    assert [call["query"] for call in calls] == [
        {"$filter": "modifiedon ge 1970-01-01T00:00:00Z"}, {"$skiptoken": "2"}]  # fmt: skip
    assert {call["authorization"] for call in calls} == {f"Bearer {TOKEN}"}
    assert Order.objects.filter(merchant=merchant).count() == 3
    connection.refresh_from_db()
    assert (connection.consecutive_failures, connection.last_error) == (0, "")


@pytest.mark.parametrize("allowed_hosts", [["*"], ["127.0.0.1"]])
def test_in_production_the_same_oms_is_refused_whatever_the_list_says(
    merchant, oms, settings, allowed_hosts
):
    # given
    settings.DEBUG = False
    settings.OUTBOUND_URL_ALLOWED_HOSTS = allowed_hosts
    base, calls = oms
    connection = _connection(merchant, base)
    # when
    platform_connection_pull(connection, deadline=math.inf)
    # then: nothing was sent
    connection.refresh_from_db()
    assert connection.last_error.startswith("The address is refused: Use https;")
    assert (calls, Order.objects.count()) == ([], 0)
