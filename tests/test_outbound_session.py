"""GuardedSession, the HTTP client for URLs a merchant configured (carrier base URLs): it connects
to the address the guard checked, keeps the URL's name in the Host header, and never follows a
redirect. A real HTTP server on 127.0.0.1; the name resolves through a fake resolver."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flextracker.outbound import GuardedSession, RefusedUrl
from flextracker.urlguard import PRODUCTION, WEB, Allowance


@pytest.fixture
def server(fake_dns):
    """A server on loopback that answers every GET with a redirect to the metadata service."""
    hits: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append((self.path, self.headers["Host"]))
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # The name answers 127.0.0.1 once, then 127.0.0.2 where nothing listens (DNS rebinding):
    # only a connection to the address the guard checked reaches the server.
    fake_dns().answer_in_turn("carrier.fred.example", "127.0.0.1", "127.0.0.2")
    yield httpd.server_address[1], hits
    httpd.shutdown()
    httpd.server_close()


def test_a_request_goes_to_the_checked_address_under_its_own_name_and_no_redirect_is_followed(
    server,
):
    # given: the name allowed as a developer's machine would be
    port, hits = server
    session = GuardedSession(WEB, Allowance(frozenset({"carrier.fred.example"})))
    # when
    response = session.get(f"http://carrier.fred.example:{port}/api/track")
    # then
    assert response.status_code == 302
    assert hits == [("/api/track", f"carrier.fred.example:{port}")]


def test_a_refused_url_is_never_requested(server):
    # given
    port, hits = server
    session = GuardedSession(WEB, PRODUCTION)
    # when
    with pytest.raises(RefusedUrl) as refused:
        session.get(f"http://carrier.fred.example:{port}/api/track")
    # then
    assert refused.value.problems == [
        "Use https; plain http is accepted only in development.",
        f"Port {port} is not allowed; use 443 (or 80).",
    ]
    assert hits == []
