"""The file channel end to end: files dropped in a local folder or on an SFTP server are read
record by record through the channel road, archived or moved to the error folder with a report."""

import csv
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from inbound.models import InboundMessage, InboundOutcome
from inbound.services import Result
from ingest.channels.files import file_source_poll
from ingest.models import FileSource, InboundFile, InboundFileStatus
from ingest.replay import inbound_replay
from ingest.tasks import poll_file_sources
from ingest.tests.channel_samples import (
    CSV_HEADER,
    CSV_MAPPING,
    CSV_SAMPLE,
    JSON_MAPPING,
    JSON_ORDER,
    JSON_SHIPMENT,
    XML_MAPPING,
    XML_SAMPLE,
    dictionary,
)
from ingest.tests.sftp_server import SftpServer, generate_client_key, other_host_key_line
from orders.models import LineItem, Order, Shipment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_sftp_server_allowed(settings):
    # The test SFTP server listens on loopback: the SSRF guard's development allowance.
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]


A_WHILE_AGO = time.time() - 600


def _folders(tmp_path: Path) -> dict[str, str]:
    folders = {"directory": tmp_path / "in", "archive_directory": tmp_path / "archive",
               "error_directory": tmp_path / "error"}  # fmt: skip
    folders["directory"].mkdir()
    return {key: str(value) for key, value in folders.items()}


def _local_source(merchant, tmp_path, fmt="csv", mapping=CSV_MAPPING, **overrides) -> FileSource:
    return FileSource.objects.create(
        merchant=merchant, name="oms drop", kind="local", file_pattern="*",
        dictionary=dictionary(merchant, fmt, mapping), **_folders(tmp_path) | overrides,
    )  # fmt: skip


def _drop(source: FileSource, name: str, content: str | bytes, *, settled=True) -> Path:
    path = Path(source.directory) / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    if settled:
        os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))
    return path


def _poll(source: FileSource, deadline: float | None = None):
    source.refresh_from_db()
    return file_source_poll(source, deadline=deadline or time.monotonic() + 600)


def _report(source: FileSource, name: str) -> list[dict]:
    with open(Path(source.error_directory) / f"{name}.errors.csv", newline="") as report:
        return list(csv.DictReader(report))


def test_a_csv_file_dropped_locally_builds_orders_and_is_archived(merchant, tmp_path):
    # given
    source = _local_source(merchant, tmp_path)
    _drop(source, "orders-1121.csv", CSV_SAMPLE)
    # when: the scheduled task runs
    summary = poll_file_sources()
    # then
    order = Order.objects.get(merchant=merchant, order_id="1001")
    assert (order.status, order.customer_name) == ("shipped", "Jane Doe")
    assert order.order_date.isoformat() == "2026-11-20T09:30:00+00:00"  # 09:30 in UTC (merchant)
    assert sorted(order.shipments.values_list("tracking_number", flat=True)) == [
        "SBXDELIVERED0001", "SBXDELIVERED0002"]  # fmt: skip
    towel = LineItem.objects.get(order=order, item_id="TOWEL")
    assert (towel.quantity_cancelled, towel.price) == (1, 4.5)
    inbound_file = InboundFile.objects.get()
    assert (inbound_file.status, inbound_file.records_read, inbound_file.records_accepted) == (
        InboundFileStatus.PROCESSED, 4, 4)  # fmt: skip
    assert summary == "1 file(s) finished, 4 record(s)"
    assert os.listdir(source.directory) == []
    assert os.listdir(source.archive_directory) == ["orders-1121.csv"]
    sources = list(InboundMessage.objects.order_by("pk").values_list("source", "outcome"))
    prefix = f"orders-1121.csv #{inbound_file.pk} line "
    assert sources == [(prefix + n, InboundOutcome.ACCEPTED) for n in ("2", "4", "5", "6")]


def test_bad_records_are_reported_one_by_one_and_the_good_ones_still_processed(merchant, tmp_path):
    # given: a file with every kind of bad record between good ones, its last line cut short
    source = _local_source(merchant, tmp_path)
    content = (CSV_HEADER.encode() + (
        "B1,NEW,2001,11/20/2026 09:30,Ann,ann@example.com,MUG,Mug,2,10.00,,\n"
        "B2,SHIPPED,2001,11/21/2026 10:00,,,MUG,,1,,SBX,SBXDELIVERED0005\n"  # unknown word
        "B3,SHIP_CONF,2001,11/21/2026 10:00,,,MUG,,two,,SBX,SBXDELIVERED0006\n"  # not a number
        "B4,SHIP_CONF,2001,11/21/2026 10:00,,,LAMP,,1,,SBX,SBXDELIVERED0007\n"  # not ordered
        "B5,BO,9999,12/01/2026,,,MUG,,1,,,\n"  # an order we never received
        "B6,NEW,2002,11/20/2026 09:30,Ren\xe9,ren@example.com,CUP,Cup,1,3.00,,\n"
    ).encode() + (
        "B7,NEW,2002,11/20/2026 09:30,Ren\xe9,ren@example.com,CUP,Cup,1,3.00,,\n".encode("latin-1")
    ) + (
        b"B8,SHIP_CONF,2001,11/22/2026 10:00,,,MUG,,2,,SBX,SBXDELIVERED0008\n"
        b"B9,NEW,2003,11/20/2026 09:30,Cut,cut@exam"
    ))  # fmt: skip
    _drop(source, "day.csv", content)
    # when
    _poll(source)
    # then: the good records took effect
    assert Order.objects.get(order_id="2001").shipments.get().tracking_number == "SBXDELIVERED0008"
    assert Order.objects.filter(order_id="2002").exists()
    inbound_file = InboundFile.objects.get()
    assert inbound_file.status == InboundFileStatus.WITH_ERRORS
    assert (inbound_file.records_read, inbound_file.records_accepted,
            inbound_file.records_rejected) == (9, 3, 6)  # fmt: skip
    # the file is in the error folder with its report, one line per bad record
    assert sorted(os.listdir(source.error_directory)) == ["day.csv", "day.csv.errors.csv"]
    report = {row["line"]: row for row in _report(source, "day.csv")}
    assert {line: row["code"] for line, row in report.items()} == {
        "3": "UNKNOWN_MESSAGE_TYPE", "4": "INVALID_FIELD", "5": "INVALID_SHIPMENT_DATA",
        "6": "ORDER_NOT_FOUND", "8": "INVALID_RECORD", "10": "INVALID_RECORD",
    }  # fmt: skip
    assert report["3"]["message"].startswith("MsgType: “SHIPPED” is not a message type")
    assert report["4"]["fields"] == "Qty (row 1): “two” is not a number (for items[0].quantity)."
    assert (report["5"]["eventId"], report["5"]["orderId"]) == ("B4", "2001")
    assert "Line 2 of the record is not utf-8 text (byte 0xE9" in report["8"]["message"]
    assert "is the line cut short?" in report["10"]["message"]
    assert [entry["code"] for entry in inbound_file.report][:2] == [
        "UNKNOWN_MESSAGE_TYPE", "INVALID_FIELD"]  # fmt: skip
    # nothing lost: every record is in the log, the rejected ones with their reason
    assert InboundMessage.objects.filter(outcome=InboundOutcome.REJECTED).count() == 6


def test_a_rejected_record_replays_once_the_dictionary_knows_the_word(merchant, tmp_path):
    # given: the OMS started writing SHIPPED, which the dictionary did not know
    source = _local_source(merchant, tmp_path)
    _drop(source, "a.csv", CSV_HEADER + (
        "C1,NEW,3001,11/20/2026 09:30,Ann,ann@example.com,MUG,Mug,2,10.00,,\n"
        "C2,SHIPPED,3001,11/21/2026 10:00,,,MUG,,2,,SBX,SBXDELIVERED0009\n"))  # fmt: skip
    _poll(source)
    rejected = InboundMessage.objects.get(outcome=InboundOutcome.REJECTED)
    assert rejected.error_code == "UNKNOWN_MESSAGE_TYPE"
    # when: staff teach the dictionary the word and replay the record
    format_dictionary = source.dictionary
    format_dictionary.mapping["type"]["values"]["SHIPPED"] = "shipment.confirmed"
    format_dictionary.save()
    outcome = inbound_replay(rejected)
    # then
    assert isinstance(outcome, Result)
    rejected.refresh_from_db()
    assert (rejected.outcome, rejected.order_ref) == (InboundOutcome.ACCEPTED, "3001")
    assert Order.objects.get(order_id="3001").status == "shipped"


def test_the_same_file_dropped_twice_is_processed_once(merchant, tmp_path):
    source = _local_source(merchant, tmp_path)
    _drop(source, "orders.csv", CSV_SAMPLE)
    _poll(source)
    # when: the OMS sends the very same file again (under another name, too)
    _drop(source, "orders.csv", CSV_SAMPLE)
    _drop(source, "orders-again.csv", CSV_SAMPLE)
    _poll(source)
    # then: read once; the copies wait in the error folder with a report saying why
    assert InboundMessage.objects.count() == 4
    assert Shipment.objects.count() == 2
    statuses = sorted(InboundFile.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "duplicate", "processed"]
    assert sorted(os.listdir(source.error_directory)) == [
        "orders-again.csv",
        "orders-again.csv.errors.csv",
        "orders.csv",
        "orders.csv.errors.csv",
    ]
    assert _report(source, "orders.csv")[0]["code"] == "DUPLICATE_FILE"


def test_a_file_still_being_written_waits_until_it_settles(merchant, tmp_path):
    source = _local_source(merchant, tmp_path)
    path = _drop(source, "orders.csv", CSV_SAMPLE, settled=False)

    _poll(source)
    assert not InboundFile.objects.exists() and path.exists()

    os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))
    _poll(source)
    assert InboundFile.objects.get().status == InboundFileStatus.PROCESSED


def _orders_csv(count: int, first: int = 0) -> str:
    rows = [CSV_HEADER]
    for n in range(first, first + count):
        rows.append(f"R{n},NEW,R-{n},11/20/2026 09:30,Ann,ann@example.com,MUG,Mug,1,1.00,,\n")
    return "".join(rows)


def test_a_long_file_goes_on_at_the_next_poll_and_a_crash_applies_nothing_twice(merchant, tmp_path):
    # given: 450 records; the first poll's deadline has passed after its first checkpoint
    source = _local_source(merchant, tmp_path)
    _drop(source, "big.csv", _orders_csv(450))
    _poll(source, deadline=time.monotonic())
    inbound_file = InboundFile.objects.get()
    assert (inbound_file.status, inbound_file.records_read) == (InboundFileStatus.PROCESSING, 200)
    assert os.listdir(source.directory) == ["big.csv"]
    # the next poll goes on from there at once (the first let go of the file)
    _poll(source, deadline=time.monotonic())
    inbound_file.refresh_from_db()
    assert inbound_file.records_read == 400
    # when: a worker died after record 400 and before the next checkpoint, having handed over
    # records 351-400 again: its lease runs out and the next poll resumes from 350
    InboundFile.objects.filter(pk=inbound_file.pk).update(
        records_read=350, leased_until=timezone.now() - timedelta(seconds=1)
    )
    _poll(source)
    # then: every order once; the records handed over twice were no-ops
    inbound_file.refresh_from_db()
    assert (inbound_file.status, inbound_file.records_read) == (InboundFileStatus.PROCESSED, 450)
    assert Order.objects.count() == 450
    answers = [m.response() for m in InboundMessage.objects.all()]
    duplicates = [
        a for a in answers if a["warnings"] and a["warnings"][0]["code"] == "DUPLICATE_EVENT"
    ]
    assert len(duplicates) == 50
    assert os.listdir(source.archive_directory) == ["big.csv"]


def test_json_lines_and_a_cut_json_array(merchant, tmp_path):
    source = _local_source(merchant, tmp_path, "json", JSON_MAPPING)
    _drop(source, "a.jsonl", json.dumps(JSON_ORDER) + "\n\n" + json.dumps(JSON_SHIPMENT) + "\n")
    array = json.dumps(
        [
            dict(
                JSON_ORDER,
                header={**JSON_ORDER["header"], "messageId": "J-9"},
                order={**JSON_ORDER["order"], "number": "2003"},
            )
        ]
        * 2,
        indent=1,
    )
    _drop(source, "b.json", array[: len(array) // 2 + 40])  # cut in its second record

    _poll(source)

    assert Order.objects.get(order_id="2002").shipments.get().estimated_delivery_date.isoformat() \
        == "2026-11-28"  # fmt: skip
    assert Order.objects.filter(order_id="2003").exists()
    first, second = InboundFile.objects.order_by("name")
    assert (first.status, first.records_accepted) == (InboundFileStatus.PROCESSED, 2)
    assert (second.status, second.records_accepted, second.records_rejected) == (
        InboundFileStatus.WITH_ERRORS, 1, 1)  # fmt: skip
    assert second.report[0]["code"] == "INVALID_RECORD"
    assert second.report[0]["message"].startswith("The record is not valid JSON")


def test_an_xml_file_and_a_cut_one(merchant, tmp_path):
    source = _local_source(merchant, tmp_path, "xml", XML_MAPPING)
    _drop(source, "a.xml", XML_SAMPLE)
    _drop(source, "b.xml", XML_SAMPLE.replace("X-", "Y-").replace("3003", "3004")[:420])

    _poll(source)

    order = Order.objects.get(order_id="3003")
    assert order.line_items.get(item_id="SOCK").quantity_backordered == 2
    assert Order.objects.filter(order_id="3004").exists()  # the record before the cut
    cut = InboundFile.objects.get(name="b.xml")
    assert (cut.status, cut.records_accepted) == (InboundFileStatus.WITH_ERRORS, 1)
    assert cut.problem.startswith("Line ") and "cannot be read past record 1" in cut.problem
    assert _report(source, "b.xml")[-1]["code"] == "INVALID_RECORD"


# --- SFTP ------------------------------------------------------------------------------------


def _sftp_source(merchant, tmp_path, server: SftpServer, **credentials) -> FileSource:
    (tmp_path / "outbox").mkdir()
    return FileSource.objects.create(
        merchant=merchant, name="their sftp", kind="sftp", host="127.0.0.1", port=server.port,
        username="oms", host_key=server.host_key_line, directory="/outbox",
        archive_directory="/archive", error_directory="/error",
        dictionary=dictionary(merchant, "csv", CSV_MAPPING), **credentials,
    )  # fmt: skip


def _upload(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / "outbox" / name
    path.write_text(content)
    os.utime(path, (A_WHILE_AGO, A_WHILE_AGO))


def test_sftp_with_a_password_pulls_the_file_and_archives_it_on_the_server(merchant, tmp_path):
    with SftpServer(tmp_path, password="s3cret") as server:
        source = _sftp_source(merchant, tmp_path, server, password="s3cret")
        _upload(tmp_path, "orders.csv", CSV_SAMPLE)

        _poll(source)

    assert Order.objects.get(order_id="1001").shipments.count() == 2
    assert os.listdir(tmp_path / "archive") == ["orders.csv"]
    assert os.listdir(tmp_path / "outbox") == []
    assert server.auth.logins == ["password"]
    source.refresh_from_db()
    assert (source.last_error, source.last_polled_at is not None) == ("", True)


def test_sftp_with_a_key_reports_bad_records_in_the_error_folder_on_the_server(merchant, tmp_path):
    private_key, public_key = generate_client_key()
    with SftpServer(tmp_path, public_key=public_key) as server:
        source = _sftp_source(merchant, tmp_path, server, private_key=private_key)
        _upload(tmp_path, "orders.csv", CSV_SAMPLE.replace("M2,SHIP_CONF", "M2,SHIPPED"))

        _poll(source)

    assert server.auth.logins == ["publickey"]
    assert sorted(os.listdir(tmp_path / "error")) == ["orders.csv", "orders.csv.errors.csv"]
    report = (tmp_path / "error" / "orders.csv.errors.csv").read_text()
    assert "UNKNOWN_MESSAGE_TYPE" in report and ",M2," not in report  # unmapped: no eventId
    assert Order.objects.get(order_id="1001").shipments.count() == 1


def test_sftp_refuses_a_server_whose_host_key_is_not_the_pinned_one(merchant, tmp_path):
    with SftpServer(tmp_path, password="s3cret") as server:
        source = _sftp_source(merchant, tmp_path, server, password="s3cret")
        FileSource.objects.filter(pk=source.pk).update(host_key=other_host_key_line())
        _upload(tmp_path, "orders.csv", CSV_SAMPLE)

        _poll(source)

    source.refresh_from_db()
    assert "presented a different host key" in source.last_error
    assert "refused" in source.last_error
    assert server.auth.logins == []  # no password was ever sent to it
    assert not InboundMessage.objects.exists()
    assert os.listdir(tmp_path / "outbox") == ["orders.csv"]


def test_sftp_wrong_password_is_reported_on_the_source(merchant, tmp_path):
    with SftpServer(tmp_path, password="s3cret") as server:
        source = _sftp_source(merchant, tmp_path, server, password="wrong")
        _poll(source)

    source.refresh_from_db()
    assert source.last_error == "127.0.0.1 refused the login of oms."


# --- Done when: a 10,000-line file end to end --------------------------------------------------


def ten_thousand_lines() -> str:
    """500 orders, twenty lines each: the order (eight items, a row each), a first parcel with
    one of each, a second with the rest of two, the last two items cancelled. Every 100th
    order's second parcel names an item it never had: rejected, and reported."""
    rows = [CSV_HEADER]
    for n in range(500):
        order, stamp = f"D-{n}", "11/20/2026 09:30"
        skus = [f"SKU-{k}" for k in range(1, 9)]
        second = ["LAMP", "SKU-2"] if n % 100 == 0 else skus[:2]
        rows += [f"{order}-o,NEW,{order},{stamp},Ann {n},ann{n}@example.com,{sku},Thing,2,1.50,,\n"
                 for sku in skus]  # fmt: skip
        rows += [f"{order}-s1,SHIP_CONF,{order},{stamp},,,{sku},,1,,SBX,SBXDELIVERED{n}1\n"
                 for sku in skus]  # fmt: skip
        rows += [f"{order}-s2,SHIP_CONF,{order},{stamp},,,{sku},,1,,SBX,SBXDELIVERED{n}2\n"
                 for sku in second]  # fmt: skip
        rows += [f"{order}-c,CXL,{order},,,,{sku},changed mind,1,,,\n" for sku in skus[-2:]]
    return "".join(rows)


def test_done_when_a_10000_line_csv_is_processed_end_to_end_with_a_report(merchant, tmp_path):
    # given
    source = _local_source(merchant, tmp_path)
    content = ten_thousand_lines()
    assert content.count("\n") == 10_001  # the header and 10,000 lines
    _drop(source, "oms-export.csv", content)
    # when: the scheduled task, as often as it takes (45 s per run)
    started = time.monotonic()
    while not InboundFile.objects.filter(finished_at__isnull=False).exists():
        poll_file_sources()
    elapsed = time.monotonic() - started
    # then
    inbound_file = InboundFile.objects.get()
    assert (inbound_file.records_read, inbound_file.records_accepted,
            inbound_file.records_rejected) == (2000, 1995, 5)  # fmt: skip
    assert Order.objects.filter(merchant=merchant).count() == 500
    assert Shipment.objects.filter(merchant=merchant).count() == 995
    assert Order.objects.filter(status="partially_shipped").count() == 500
    assert LineItem.objects.filter(item_id="SKU-8", quantity_cancelled=1).count() == 500
    assert LineItem.objects.filter(item_id="SKU-1", quantity_shipped=2).count() == 495
    report = _report(source, "oms-export.csv")
    assert [(row["line"], row["eventId"], row["orderId"], row["code"]) for row in report] == [
        (str(2 + 20 * n + 16), f"D-{n}-s2", f"D-{n}", "INVALID_SHIPMENT_DATA")
        for n in (0, 100, 200, 300, 400)
    ]
    assert InboundMessage.objects.count() == 2000
    print(f"\n10,000 lines, 2,000 records: {elapsed:.1f} s, {2000 / elapsed:.0f} records/s")
