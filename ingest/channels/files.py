"""The file channel: files a merchant's OMS drops in a folder (ours, or their SFTP server) are read
record by record, each record handed to the channel (so it lands in the inbound message log
with its outcome and can be replayed; `channel_deliver_all` applies a checkpoint's worth of
records together, each still all or nothing), then the file is moved to the archive folder — or
to the error folder with a report (`<name>.errors.csv`: which records failed and why) when any
failed.

- A file is known by its content (SHA-256) per source: the same file dropped again, under any
  name, is not processed again (it goes to the error folder with a report saying so).
- A file modified less than SETTLE_SECONDS ago, or whose size changes while we fetch it, is
  still being written: it waits for the next poll.
- A run stops at its deadline (the schedule runs each minute) and the next one goes on from the
  last checkpoint; a crash does the same. Records between the checkpoint and the crash are handed
  over again and their eventIds make them no-ops (DUPLICATE_EVENT).
- A lease on the file row keeps two workers off the same file.
"""

import csv
import hashlib
import io
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from flextracker.errors import ApiError
from inbound.models import InboundChannel, InboundMessage, InboundOutcome
from inbound.services import Failure
from ingest.channels.core import ChannelRecord, channel_deliver_all
from ingest.channels.dictionaries import Dictionary, dictionary_for, dictionary_map
from ingest.channels.folders import Entry, FolderUnavailable, open_folder
from ingest.channels.records import UnreadableFile
from ingest.models import FileSource, InboundFile, InboundFileStatus

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 10
CHECKPOINT_RECORDS = 200
LEASE = timedelta(minutes=3)
REPORT_IN_DATABASE = 100  # the admin shows these; the report file has every failed record
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json", "xml": "application/xml"}


@dataclass(slots=True)
class PollSummary:
    files: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.files} file(s) finished, {self.records} record(s)"
        return text + (f"; {len(self.errors)} source(s) failing" if self.errors else "")


def file_sources_poll(*, deadline: float) -> PollSummary:
    """Every active source, the least recently polled first, until the deadline (monotonic)."""
    summary = PollSummary()
    sources = (
        FileSource.objects.filter(is_active=True, merchant__is_active=True)
        .select_related("merchant", "dictionary__merchant")
        .order_by(F("last_polled_at").asc(nulls_first=True), "pk")
    )
    for source in sources:
        if time.monotonic() >= deadline:
            break
        try:
            file_source_poll(source, deadline=deadline, summary=summary)
        except Exception as error:  # one merchant's broken source must not stop the others
            logger.exception("File source %s failed", source.pk)
            summary.errors.append(f"{source.pk}: {error}")
            _source_polled(source, "Internal error while reading this source; staff were told.")
    return summary


def file_source_poll(source: FileSource, *, deadline: float, summary: PollSummary | None = None):
    summary = summary or PollSummary()
    try:
        dictionary = dictionary_for(source.dictionary)
    except ApiError as error:
        _source_polled(source, f"The format dictionary is not valid: {error.message}")
        return summary
    try:
        with open_folder(source) as folder:
            for entry in folder.list():
                _file_consider(source, folder, dictionary, entry, deadline, summary)
                if time.monotonic() >= deadline:
                    break
    except FolderUnavailable as error:
        _source_polled(source, str(error))
        return summary
    _source_polled(source, "")
    return summary


def _source_polled(source: FileSource, error: str) -> None:
    source.last_polled_at, source.last_error = timezone.now(), error[:500]
    FileSource.objects.filter(pk=source.pk).update(
        last_polled_at=source.last_polled_at, last_error=source.last_error
    )


def _file_consider(source, folder, dictionary, entry: Entry, deadline, summary) -> None:
    if time.time() - entry.mtime < SETTLE_SECONDS:
        return  # still being written
    local = folder.fetch(entry.name)
    try:
        if local.stat().st_size != entry.size:
            return  # it grew while we fetched it: still being written
        inbound_file = _claim(source, entry.name, entry.size, _sha256(local))
        if inbound_file is None:
            return
        duplicate = inbound_file.status == InboundFileStatus.DUPLICATE
        if not duplicate and not _read(inbound_file, local, dictionary, deadline):
            # The deadline: the next poll (any worker) goes on from the checkpoint.
            InboundFile.objects.filter(pk=inbound_file.pk).update(leased_until=None)
            return
    finally:
        folder.done_with(local)
    _finish(folder, inbound_file, dictionary)
    if not duplicate:
        summary.files += 1
        summary.records += inbound_file.records_read


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _claim(source: FileSource, name: str, size: int, sha256: str) -> InboundFile | None:
    """The file's row, leased to this worker: new, or unfinished and free. A finished file's
    content arriving again is a duplicate (a row of its own, never read)."""
    now = timezone.now()
    values = {"merchant": source.merchant, "name": name, "size": size, "leased_until": now + LEASE}
    try:
        with transaction.atomic():
            return InboundFile.objects.create(source=source, sha256=sha256, **values)
    except IntegrityError:
        pass
    earlier = InboundFile.objects.exclude(status=InboundFileStatus.DUPLICATE).get(
        source=source, sha256=sha256
    )
    if earlier.finished_at is not None:
        return InboundFile.objects.create(
            source=source, sha256=sha256, status=InboundFileStatus.DUPLICATE,
            problem=f"Same content as {earlier.name} (file #{earlier.pk}), processed "
            f"{earlier.finished_at:%Y-%m-%d %H:%M} UTC: not processed again.",
            **values,
        )  # fmt: skip
    taken = InboundFile.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now), pk=earlier.pk
    ).update(leased_until=now + LEASE, name=name)
    if not taken:
        return None  # another worker is on it
    earlier.refresh_from_db()
    return earlier


def _read(inbound_file: InboundFile, local: Path, dictionary: Dictionary, deadline) -> bool:
    """Hands every record after the checkpoint to the channel, a checkpoint's worth at a time;
    False when the deadline came."""
    skip, chunk = inbound_file.records_read, []
    with local.open("rb") as stream:
        try:
            for record in dictionary.read_records(stream):
                if record.number <= skip:
                    continue
                chunk.append(record)
                if record.number % CHECKPOINT_RECORDS == 0:
                    _deliver(inbound_file, dictionary, chunk)
                    chunk = []
                    _checkpoint(inbound_file)
                    if time.monotonic() >= deadline:
                        return False
        except UnreadableFile as error:
            inbound_file.problem = error.located_message[:500]
    _deliver(inbound_file, dictionary, chunk)
    _checkpoint(inbound_file)
    return True


def _deliver(inbound_file: InboundFile, dictionary: Dictionary, records: list) -> None:
    """The records to the channel, together (see channel_deliver_all); their outcomes counted."""
    if not records:
        return
    prefix, content_type = inbound_file.source_prefix, CONTENT_TYPES[dictionary.format]
    where = [f"line {r.line}" if r.line else f"record {r.number}" for r in records]
    outcomes = channel_deliver_all(
        merchant=inbound_file.merchant, channel=InboundChannel.FILE,
        route=f"dictionary:{inbound_file.source.dictionary_id}",
        records=[ChannelRecord(r.body, prefix + w, content_type)
                 for r, w in zip(records, where, strict=True)],
    )  # fmt: skip
    for outcome in outcomes:
        _count(inbound_file, outcome)
    inbound_file.records_read = records[-1].number


def _count(inbound_file: InboundFile, outcome) -> None:
    if not isinstance(outcome, Failure):
        inbound_file.records_accepted += 1
    elif outcome.transient:
        inbound_file.records_failed += 1
    else:
        inbound_file.records_rejected += 1


def _checkpoint(inbound_file: InboundFile) -> None:
    inbound_file.leased_until = timezone.now() + LEASE
    inbound_file.save(update_fields=[
        "records_read", "records_accepted", "records_rejected", "records_failed", "problem",
        "leased_until",
    ])  # fmt: skip


def _finish(folder, inbound_file: InboundFile, dictionary: Dictionary) -> None:
    """Archive, or the error folder with the report; then the row is finished (a crash before
    this point moves the file on the next poll, without reading it again)."""
    source = inbound_file.source
    clean = not (
        inbound_file.problem or inbound_file.records_rejected or inbound_file.records_failed
    )
    if inbound_file.status != InboundFileStatus.DUPLICATE:
        inbound_file.status = (
            InboundFileStatus.PROCESSED if clean else InboundFileStatus.WITH_ERRORS
        )
    if clean:
        inbound_file.moved_to = folder.move(inbound_file.name, source.archive_directory)
    else:
        rows = _report_rows(inbound_file, dictionary)
        inbound_file.report = rows[:REPORT_IN_DATABASE]
        inbound_file.moved_to = folder.move(inbound_file.name, source.error_directory)
        report_name = Path(inbound_file.moved_to).name + ".errors.csv"
        folder.put(_report_csv(inbound_file, rows), source.error_directory, report_name)
    inbound_file.finished_at, inbound_file.leased_until = timezone.now(), None
    inbound_file.save()


def _failed_messages(inbound_file: InboundFile):
    if inbound_file.status == InboundFileStatus.DUPLICATE:
        return InboundMessage.objects.none()
    return (
        InboundMessage.objects.filter(
            merchant=inbound_file.merchant,
            source__startswith=inbound_file.source_prefix,
            outcome__in=[InboundOutcome.REJECTED, InboundOutcome.FAILED],
        )
        .order_by("pk")
        .only("source", "body", "order_ref", "error_code", "response_body")
    )


_POSITION = re.compile(r"(line|record) (\d+)$")


def _report_rows(inbound_file: InboundFile, dictionary: Dictionary) -> list[dict]:
    rows, seen = [], set()
    for message in _failed_messages(inbound_file).iterator(chunk_size=500):
        if message.source in seen:
            continue  # handed over again after a crash: reported once
        seen.add(message.source)
        error = message.response().get("error", {})
        kind, number = _POSITION.search(message.source).groups()
        rows.append({
            kind: int(number), "eventId": _event_id(bytes(message.body), dictionary),
            "orderId": message.order_ref, "code": message.error_code,
            "message": error.get("message", ""), "fields": error.get("fields", {}),
        })  # fmt: skip
    if inbound_file.problem:
        duplicate = inbound_file.status == InboundFileStatus.DUPLICATE
        rows.append({"code": "DUPLICATE_FILE" if duplicate else "INVALID_RECORD",
                     "message": inbound_file.problem})  # fmt: skip
    return rows


def _event_id(body: bytes, dictionary: Dictionary) -> str:
    """The eventId of a record that mapped but was rejected when applied ("" if it did not map)."""
    try:
        return ", ".join(event["eventId"] for event in dictionary_map(dictionary, body))
    except ApiError:
        return ""


def _report_csv(inbound_file: InboundFile, rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["line", "record", "eventId", "orderId", "code", "message", "fields"])
    for row in rows:
        fields = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in
                           row.get("fields", {}).items())  # fmt: skip
        writer.writerow([row.get("line", ""), row.get("record", ""), row.get("eventId", ""),
                         row.get("orderId", ""), row.get("code", ""), row.get("message", ""),
                         fields])  # fmt: skip
    return text.getvalue().encode()
