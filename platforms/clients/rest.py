"""Any OMS with a REST API (kind `rest_pull`, docs/channels.md "Any OMS with a REST API"): a URL
template the merchant gives (a NetSuite RESTlet or saved search, a Dynamics 365 / Dataverse view,
Zoho Inventory's sales orders), read a page at a time with the connection's credentials. What is
in a record is the format dictionary's business (ingest/channels/rest_pull.py); this module only
fills the template, calls, and finds the records and the way to the next page.

The template's placeholders: `{since}` (the cursor's date-time, ISO 8601 in UTC, URL-encoded),
`{page}` (1, 2, …) and `{pageSize}`. The way to the next page, in the order it is looked for: the
answer's own link (OData's `@odata.nextLink`, NetSuite's `links` rel "next"), then what the
answer says of more pages (Zoho's `page_context.has_more_page`, NetSuite's `hasMore`), then a
full page. Credentials: a bearer token, HTTP Basic, a key in a header, or OAuth 2.0 (client
credentials, or a refresh token) whose access token is asked for at each pull. Every call goes
through the SSRF guard (the merchant's own host only in development)
with timeouts; 408, 429 and 5xx are PlatformUnavailable with the platform's Retry-After.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import requests
from django.utils import timezone

from flextracker.outbound import GuardedSession, RefusedUrl, read_bounded, retry_after_seconds
from flextracker.urlguard import WEB, development_allowance
from platforms.clients import PlatformRefused, PlatformUnavailable
from platforms.models import PlatformConnection, PullAuth, PullCursor

TIMEOUT = (5, 30)  # connect, read (seconds)
MAX_ANSWER_BYTES = 32 * 1024 * 1024
EPOCH = "1970-01-01T00:00:00Z"
# Where answers say whether more pages follow (Zoho's list APIs, NetSuite's REST query).
MORE_FLAGS = ("page_context.has_more_page", "hasMore")
OAUTH2 = (PullAuth.OAUTH2_CLIENT, PullAuth.OAUTH2_REFRESH)
REFUSING = {401: "the credentials were refused", 403: "the credentials lack a permission",
            404: "no such address"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RestPage:
    records: list  # as found: a record that is not an object is rejected by the mapping
    next_url: str  # the answer's own link to the next page, or ""
    has_more: bool | None  # what the answer says about more pages; None when it says nothing


class RestClient:
    def __init__(self, connection: PlatformConnection):
        self.connection = connection
        self.session = GuardedSession(WEB, development_allowance())
        # Prefer is ignored by servers that do not know it (RFC 7240); Dataverse pages by it.
        self.session.headers.update({
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={page_size(connection)}",
        })  # fmt: skip
        _authenticate(self.session, connection)

    def page_url(self, *, since: str, page: int) -> str:
        return fill_template(self.connection.base_url, since=since, page=page,
                             size=page_size(self.connection))  # fmt: skip

    def read(self, url: str) -> RestPage:
        answer = self._get(url)
        return RestPage(
            records=_records(answer, self.connection.records_path),
            next_url=self._next_link(answer),
            has_more=_has_more(answer),
        )

    def _next_link(self, answer) -> str:
        if not isinstance(answer, dict):
            return ""
        link = answer.get("@odata.nextLink")
        links = answer.get("links")
        if not link and isinstance(links, list):
            nexts = [item for item in links if isinstance(item, dict) and item.get("rel") == "next"]
            link = nexts[0].get("href") if nexts else None
        if not isinstance(link, str) or not link:
            return ""
        if _origin(link) != _origin(self.connection.base_url):
            raise PlatformRefused(f"The next-page link leaves {_host(self.connection.base_url)}.")
        return link

    def _get(self, url: str):
        host = _host(url)
        try:
            response = self.session.get(url, timeout=TIMEOUT, stream=True)
        except RefusedUrl as refused:
            raise PlatformRefused(f"The address is refused: {refused}") from refused
        except requests.RequestException as error:
            raise PlatformUnavailable(f"{host} did not answer ({type(error).__name__}).") from error
        with response:
            _judge(response, host)
            return _json(response, host)


def rest_check(connection: PlatformConnection) -> str:
    """The admin's "Test connection": page 1 read from the cursor, nothing applied."""
    client = RestClient(connection)
    start = 1 if connection.cursor_kind != PullCursor.PAGE else page_of(connection.pull_cursor)
    page = client.read(client.page_url(since=since_of(connection.pull_cursor), page=start))
    where = f"“{connection.records_path}”" if connection.records_path else "the top level"
    more = " (more pages follow)" if page.next_url or page.has_more else ""
    return (
        f"Page {start} answered {len(page.records)} records at {where}{more}; nothing was applied."
    )


def fill_template(template: str, *, since: str, page: int, size: int) -> str:
    return (template.replace("{since}", quote(since, safe=""))
            .replace("{page}", str(page)).replace("{pageSize}", str(size)))  # fmt: skip


def page_size(connection: PlatformConnection) -> int:
    return max(connection.page_size, 1)


def page_of(cursor: str) -> int:
    """The page cursor: the page to read next (1 at first)."""
    return max(int(cursor), 1) if cursor.strip().isdigit() else 1


def since_of(cursor: str) -> str:
    """The updated-since cursor as the template's {since}: ISO 8601 in UTC ("…Z")."""
    moment = parse_moment(cursor)
    return format_moment(moment) if moment else EPOCH


def parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def format_moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _authenticate(session: requests.Session, connection: PlatformConnection) -> None:
    if connection.auth in OAUTH2:
        scheme = connection.token_scheme.strip() or "Bearer"
        session.headers["Authorization"] = f"{scheme} {_access_token(session, connection)}"
    elif connection.auth == PullAuth.BEARER:
        session.headers["Authorization"] = f"Bearer {connection.secret}"
    elif connection.auth == PullAuth.BASIC:
        session.auth = (connection.username, connection.secret)
    elif connection.auth == PullAuth.HEADER and connection.username:
        session.headers[connection.username.strip()] = connection.secret


def _access_token(session: requests.Session, connection: PlatformConnection) -> str:
    """A fresh access token from the connection's token endpoint (RFC 6749 §4.4 client
    credentials, or §6 refresh token), asked once per pull: they live about an hour."""
    grant = {"client_id": connection.username, "client_secret": connection.secret}
    if connection.auth == PullAuth.OAUTH2_REFRESH:
        grant.update(grant_type="refresh_token", refresh_token=connection.refresh_token)
    else:
        grant.update(grant_type="client_credentials")
        if connection.token_scope:
            grant["scope"] = connection.token_scope
    host = _host(connection.token_url)
    try:
        response = session.post(connection.token_url, data=grant, timeout=TIMEOUT, stream=True)
    except RefusedUrl as refused:
        raise PlatformRefused(f"The token address is refused: {refused}") from refused
    except requests.RequestException as error:
        raise PlatformUnavailable(f"{host} did not answer ({type(error).__name__}).") from error
    with response:
        if response.status_code in (400, 401):  # RFC 6749 §5.2: an error code, safe to show
            raise PlatformRefused(f"{host} refused the token request ({_oauth_error(response)}).",
                                  response_status=response.status_code)  # fmt: skip
        _judge(response, host)
        answer = _json(response, host)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        # Zoho answers 200 {"error": "invalid_code"} to a refresh token it no longer knows.
        error = answer.get("error") if isinstance(answer, dict) else None
        raise PlatformRefused(f"{host} gave no access token ({_safe_code(error)}).")
    return token


def _oauth_error(response: requests.Response) -> str:
    try:
        answer = json.loads(response.content[:4096])
    except ValueError:
        return f"HTTP {response.status_code}"
    return _safe_code(answer.get("error") if isinstance(answer, dict) else None)


def _safe_code(code) -> str:
    """An OAuth error code (`invalid_client`), never free text that could echo a secret."""
    text = str(code or "")
    return text if re.fullmatch(r"[a-z_]{1,60}", text) else "no error code"


def _records(answer, path: str) -> list:
    found = _walk(answer, path) if path else answer
    if not isinstance(found, list):
        where = f"at “{path}”" if path else "at the top level (set the records path)"
        raise PlatformRefused(f"The answer has no list of records {where}.")
    return found


def _walk(node, path: str):
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _has_more(answer) -> bool | None:
    for path in MORE_FLAGS:
        flag = _walk(answer, path)
        if isinstance(flag, bool):
            return flag
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _host(url: str) -> str:
    return urlsplit(url).hostname or "the OMS"


def _judge(response: requests.Response, host: str) -> None:
    status = response.status_code
    if status in (408, 429) or status >= 500:
        raise PlatformUnavailable(f"{host} answered {status}.", response_status=status,
                                  retry_after=retry_after_seconds(response.headers))  # fmt: skip
    if status in REFUSING:
        raise PlatformRefused(f"{host} answered {status}: {REFUSING[status]}.",
                              response_status=status)  # fmt: skip
    if status >= 300:
        raise PlatformRefused(f"{host} answered {status}.", response_status=status)


def _json(response: requests.Response, host: str):
    body = read_bounded(response, MAX_ANSWER_BYTES)
    if body is None:
        raise PlatformRefused(
            f"{host}'s page is over {MAX_ANSWER_BYTES} bytes: lower the page size."
        )
    try:
        return json.loads(body)
    except ValueError as error:  # a maintenance or login page instead of the API
        raise PlatformUnavailable(
            f"{host}'s answer is not JSON.", response_status=response.status_code
        ) from error
