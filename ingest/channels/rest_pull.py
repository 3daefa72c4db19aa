"""Pulling any OMS with a REST API (PULLERS["rest_pull"], called by the schedule in
ingest/channels/pulls.py): the connection's URL template read a page at a time
(platforms/clients/rest.py), each record of a page one message through the channel core, mapped
by the connection's format dictionary (route `dictionary:<id>`, so a replay after the dictionary
is fixed maps it again). A record the dictionary cannot map is rejected in the inbound log with
its reason; the others go on.

A record is read once: its dedupe key is its content (`rest:<connection pk>:<sha256>`), so the
same record read again (pages overlap, a pull cut short is read again) is neither logged nor
applied twice, and a record changed in the OMS is a new version, applied.

The cursor, saved after each page so a pull cut short goes on where it stopped:
- updated since: the newest `occurredAt` (as the dictionary maps it) of the records read, in
  UTC; the template's `{since}`. The OMS must sort by that field, oldest first, and filter with
  "at or after" (records at the cursor itself are read again and recognised). Without a next
  link, the next page is asked from the newest read, not by page number: a record updated
  during the pull moves to the end and would shift numbered pages under us (one lost);
  `{page}` + 1 only when a full page is all at one moment.
- page: the next page to read; a page that was not full is read again next time (it fills up).
A pull stops at `max_pages`, an empty page, the last page, or the round's deadline.
"""

import hashlib
import json
import time
from datetime import datetime

from flextracker.errors import ApiError
from ingest.channels.core import ChannelRecord, channel_deliver_unseen
from ingest.channels.dictionaries import dictionary_for, dictionary_occurred_at
from ingest.channels.dictionary_check import Dictionary
from ingest.models import FormatDictionary, MessageFormat
from platforms.clients import PlatformRefused
from platforms.clients.rest import (
    RestClient,
    RestPage,
    format_moment,
    page_of,
    page_size,
    parse_moment,
    since_of,
)
from platforms.models import PlatformConnection, PullCursor

CHANNEL = "platform"


def rest_pull(connection: PlatformConnection, deadline: float) -> int:
    """Up to `max_pages` pages while the deadline allows; the records delivered."""
    found = _format_dictionary(connection)
    try:
        dictionary = dictionary_for(found)
    except ApiError as error:  # saved before the checks existed, or changed in the database
        raise PlatformRefused(
            f"The format dictionary “{found.name}” is invalid: {error}"
        ) from error
    if connection.cursor_kind == PullCursor.PAGE:
        return _pull_by_page(connection, found, deadline)
    return _pull_updated_since(connection, found, dictionary, deadline)


def _pull_updated_since(connection, found: FormatDictionary, dictionary: Dictionary,
                        deadline: float) -> int:  # fmt: skip
    client = RestClient(connection)
    since = since_of(connection.pull_cursor)
    newest = parse_moment(since)
    url, page_number, delivered = client.page_url(since=since, page=1), 1, 0
    for _page in range(max(connection.max_pages, 1)):
        if time.monotonic() >= deadline:
            break
        page = client.read(url)
        if not page.records:
            break
        delivered += _deliver(connection, found, page.records)
        read_until = max(_moments(dictionary, page.records), default=newest)
        if read_until and read_until > newest:
            newest = read_until
            _cursor_save(connection, format_moment(newest))
        if page.next_url:
            url = page.next_url
        elif not _more(connection, page):
            break
        elif format_moment(newest) != since:  # from the newest read: pages cannot slide
            since, page_number = format_moment(newest), 1
            url = client.page_url(since=since, page=page_number)
        elif "{page}" in connection.base_url:  # a full page all at one moment: the next one
            page_number += 1
            url = client.page_url(since=since, page=page_number)
        else:
            break  # a full page all at one moment and no page number: nothing more to ask
    return delivered


def _pull_by_page(connection, found: FormatDictionary, deadline: float) -> int:
    client = RestClient(connection)
    number, delivered = page_of(connection.pull_cursor), 0
    for _page in range(max(connection.max_pages, 1)):
        if time.monotonic() >= deadline:
            break
        page = client.read(client.page_url(since=since_of(""), page=number))
        delivered += _deliver(connection, found, page.records)
        if not page.records or not _more(connection, page):
            break  # the last page is read again next time: it fills up
        number += 1
        _cursor_save(connection, str(number))
    return delivered


def _more(connection: PlatformConnection, page: RestPage) -> bool:
    """Whether another page follows: as the answer says, else when this one was full."""
    if page.has_more is not None:
        return page.has_more
    return len(page.records) >= page_size(connection)


def _moments(dictionary: Dictionary, records: list) -> list[datetime]:
    moments = (dictionary_occurred_at(dictionary, record) for record in records)
    return [moment for moment in moments if moment is not None]


def _deliver(connection: PlatformConnection, found: FormatDictionary, records: list) -> int:
    return channel_deliver_unseen(
        merchant=connection.merchant, channel=CHANNEL, route=f"dictionary:{found.pk}",
        records=[_record(connection, record) for record in records],
    )  # fmt: skip


def _record(connection: PlatformConnection, record) -> ChannelRecord:
    body = json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
    return ChannelRecord(
        body=body,
        source=f"{connection.name} (REST pull)"[:200],
        content_type="application/json",
        dedupe_key=f"rest:{connection.pk}:{hashlib.sha256(body).hexdigest()}",
    )


def _format_dictionary(connection: PlatformConnection) -> FormatDictionary:
    """The connection's dictionary, fit to map one pulled record at a time."""
    found = (
        FormatDictionary.objects.filter(merchant=connection.merchant, pk=connection.dictionary_id)
        .select_related("merchant")
        .first()
    )
    problem = rest_pull_dictionary_problem(connection, found)
    if problem:
        raise PlatformRefused(problem)
    return found


def rest_pull_dictionary_problem(
    connection: PlatformConnection, found: FormatDictionary | None
) -> str:
    """Why this dictionary cannot map the connection's records, or "" (the admin says it too)."""
    if found is None:
        return "Choose the format dictionary that maps the OMS's records."
    if found.format != MessageFormat.JSON:
        return f"The format dictionary “{found.name}” reads {found.format}; the API answers JSON."
    mapping = found.mapping if isinstance(found.mapping, dict) else {}
    if mapping.get("records"):
        return (
            f"The format dictionary “{found.name}” reads a list at “records”, but each pulled "
            "record comes alone: give that path as the connection's records path."
        )
    if connection.cursor_kind == PullCursor.UPDATED_SINCE and not mapping.get("occurredAt"):
        return (
            f"The format dictionary “{found.name}” maps no occurredAt: the updated-since cursor "
            "is the newest occurredAt read (map it to the record's last-modified time)."
        )
    return ""


def _cursor_save(connection: PlatformConnection, cursor: str) -> None:
    connection.pull_cursor = cursor
    PlatformConnection.objects.filter(pk=connection.pk).update(pull_cursor=cursor)
