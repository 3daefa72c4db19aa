"""The console for format dictionaries, file sources and received files, through real admin
requests as staff, merchant admins and agents."""

import json
import os
import time

import pytest
from django.urls import reverse

from ingest.channels.files import file_source_poll
from ingest.models import FileSource, FormatDictionary, InboundFile
from ingest.tests.channel_samples import CSV_HEADER, CSV_MAPPING, CSV_SAMPLE, dictionary
from ingest.tests.sftp_server import SftpServer
from merchants.models import MembershipRole
from merchants.tests.factories import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_sftp_server_allowed(settings):
    # The test SFTP server listens on loopback: the SSRF guard's development allowance.
    settings.DEBUG = True
    settings.OUTBOUND_URL_ALLOWED_HOSTS = ["127.0.0.1"]


ADD = "admin:ingest_formatdictionary_add"


def _form(merchant, mapping=CSV_MAPPING, sample=CSV_SAMPLE, **extra) -> dict:
    return {"merchant": merchant.pk, "name": "OMS export", "format": "csv",
            "mapping": json.dumps(mapping), "sample": sample, **extra}  # fmt: skip


def test_staff_test_a_mapping_on_a_sample_and_see_each_envelope_without_saving(
    staff_client, merchant
):
    # when
    response = staff_client.post(reverse(ADD), _form(merchant, _test_mapping="1"))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Mapping test" in page and "Record 4 · line 6" in page
    assert "&quot;trackingNumber&quot;: &quot;SBXDELIVERED0002&quot;" in page
    assert "&quot;shippedAt&quot;: &quot;2026-11-22T10:15:00+00:00&quot;" in page
    assert not FormatDictionary.objects.exists()


def test_a_failing_sample_shows_each_error_in_their_words_and_cannot_be_saved(
    staff_client, merchant
):
    sample = CSV_HEADER + "M9,SHIP_CONF,1001,11/21/2026 16:00,,,MUG,,two,,SBX,SBXDELIVERED0001\n"

    tested = staff_client.post(reverse(ADD), _form(merchant, sample=sample, _test_mapping="1"))
    saved = staff_client.post(reverse(ADD), _form(merchant, sample=sample, _save="Save"))

    assert "INVALID_FIELD" in tested.content.decode()
    assert "<strong>Qty (row 1)</strong>: “two” is not a number" in tested.content.decode()
    assert saved.status_code == 200
    assert "1 record(s) of the sample do not map" in saved.content.decode()
    assert not FormatDictionary.objects.exists()


def test_a_broken_mapping_is_explained_before_saving(staff_client, merchant):
    mapping = {**CSV_MAPPING, "type": {"path": "MsgType", "values": {"NEW": "order.made"}},
               "fields": {"order.created": {"orderId": "OrderNo", "lineItems": {"fields": {
                   "itemId": "Sku", "quantity": {"path": "Qty", "as": "integer"}}}}}}  # fmt: skip

    response = staff_client.post(reverse(ADD), _form(merchant, mapping=mapping, _save="Save"))

    page = response.content.decode()
    assert "type.values.NEW: “order.made” is not one of order.created" in page
    assert "“as” must be one of text, int, decimal, date, datetime" in page
    assert "map “name”, every item needs it" in page
    assert not FormatDictionary.objects.exists()


def test_a_good_dictionary_is_saved(staff_client, merchant):
    response = staff_client.post(reverse(ADD), _form(merchant, _save="Save"))

    assert response.status_code == 302
    assert FormatDictionary.objects.get().mapping == CSV_MAPPING


def test_a_merchant_admin_tests_their_own_but_never_sees_another_merchants(
    client, merchant, other_merchant
):
    # given
    theirs = dictionary(other_merchant, "csv", CSV_MAPPING)
    own = dictionary(merchant, "csv", CSV_MAPPING)
    client.force_login(member_of(merchant, MembershipRole.ADMIN))
    change = "admin:ingest_formatdictionary_change"
    # when / then: their own works
    response = client.post(reverse(change, args=[own.pk]), _form(merchant, _test_mapping="1"))
    assert "Record 1 · line 2" in response.content.decode()
    # another merchant's is not there at all: not listed, not opened, not tested
    listing = client.get(reverse("admin:ingest_formatdictionary_changelist")).content.decode()
    assert reverse(change, args=[theirs.pk]) not in listing
    assert client.get(reverse(change, args=[theirs.pk])).status_code == 302
    tested = client.post(reverse(change, args=[theirs.pk]),
                         _form(other_merchant, _test_mapping="1"))  # fmt: skip
    assert tested.status_code == 302 and "Mapping test" not in tested.content.decode()
    # nor can they file a dictionary under the other merchant
    added = client.post(reverse(ADD), _form(other_merchant, _save="Save"))
    assert "Select a valid choice" in added.content.decode()
    assert FormatDictionary.objects.count() == 2


def test_an_agent_may_look_but_not_test_or_change(client, merchant):
    own = dictionary(merchant, "csv", CSV_MAPPING)
    client.force_login(member_of(merchant, MembershipRole.AGENT))
    url = reverse("admin:ingest_formatdictionary_change", args=[own.pk])

    page = client.get(url).content.decode()
    tested = client.post(url, _form(merchant, _test_mapping="1"))

    assert "_test_mapping" not in page
    assert tested.status_code == 403


# --- File sources ----------------------------------------------------------------------------


def _source_form(merchant, format_dictionary, **values) -> dict:
    return {"merchant": merchant.pk, "name": "their sftp", "kind": "sftp",
            "dictionary": format_dictionary.pk, "directory": "/outbox", "file_pattern": "*.csv",
            "archive_directory": "/archive", "error_directory": "/error", "host": "127.0.0.1",
            "port": 22, "username": "oms", "is_active": "on", **values}  # fmt: skip


def test_an_sftp_source_needs_a_valid_pinned_host_key_and_credentials(staff_client, merchant):
    format_dictionary = dictionary(merchant, "csv", CSV_MAPPING)

    response = staff_client.post(
        reverse("admin:ingest_filesource_add"),
        _source_form(merchant, format_dictionary, host_key="ssh-ed25519 not-base64!"),
    )

    page = response.content.decode()
    assert "Not a public key: paste the server" in page
    assert "Give a password or a private key." in page
    assert not FileSource.objects.exists()


def test_the_password_is_write_only_and_kept_when_left_blank(staff_client, merchant, tmp_path):
    format_dictionary = dictionary(merchant, "csv", CSV_MAPPING)
    with SftpServer(tmp_path, password="s3cret-pw") as server:
        values = _source_form(merchant, format_dictionary, host_key=server.host_key_line,
                              port=server.port)  # fmt: skip
        staff_client.post(reverse("admin:ingest_filesource_add"),
                          {**values, "password": "s3cret-pw"})  # fmt: skip
        source = FileSource.objects.get()
        change = reverse("admin:ingest_filesource_change", args=[source.pk])
        # when: the page is opened and saved again without typing the password
        page = staff_client.get(change).content.decode()
        staff_client.post(change, {**values, "file_pattern": "*.txt"})
        # then: never shown back, still stored, and the connection check uses it
        assert "s3cret-pw" not in page
        source.refresh_from_db()
        assert (source.password, source.file_pattern) == ("s3cret-pw", "*.txt")
        (tmp_path / "outbox").mkdir()
        checked = staff_client.post(
            reverse("admin:ingest_filesource_changelist"),
            {"action": "check_connection", "_selected_action": [source.pk]}, follow=True,
        )  # fmt: skip
    assert "Their sftp: connected; 0 file(s) waiting." in checked.content.decode()


def test_a_source_cannot_use_another_merchants_dictionary(staff_client, merchant, other_merchant):
    theirs = dictionary(other_merchant, "csv", CSV_MAPPING)

    response = staff_client.post(
        reverse("admin:ingest_filesource_add"),
        _source_form(merchant, theirs, kind="local", host="", directory="/srv/drop/fdc"),
    )

    assert "Choose one of this merchant&#x27;s format dictionaries." in response.content.decode()


def test_a_merchant_admin_sees_their_sources_and_files_but_cannot_change_sources(
    client, merchant, other_merchant, tmp_path
):
    # given: a file with a bad record was processed for the merchant
    inbox = tmp_path / "in"
    inbox.mkdir()
    source = FileSource.objects.create(
        merchant=merchant, name="drop", kind="local", directory=str(inbox),
        archive_directory=str(tmp_path / "a"), error_directory=str(tmp_path / "e"),
        dictionary=dictionary(merchant, "csv", CSV_MAPPING), password="hidden-pw",
    )  # fmt: skip
    path = inbox / "orders.csv"
    path.write_text(CSV_SAMPLE.replace("M2,SHIP_CONF", "M2,SHIPPED"))
    os.utime(path, (time.time() - 600, time.time() - 600))
    file_source_poll(source, deadline=time.monotonic() + 60)
    client.force_login(member_of(merchant, MembershipRole.ADMIN))
    # when
    source_page = client.get(reverse("admin:ingest_filesource_change", args=[source.pk]))
    files = client.get(reverse("admin:ingest_inboundfile_changelist")).content.decode()
    inbound_file = InboundFile.objects.get()
    detail = client.get(reverse("admin:ingest_inboundfile_change", args=[inbound_file.pk]))
    messages = client.get(
        reverse("admin:inbound_inboundmessage_changelist"),
        {"source__startswith": inbound_file.source_prefix},
    )
    # then
    assert source_page.status_code == 200 and "hidden-pw" not in source_page.content.decode()
    assert 'name="directory"' not in source_page.content.decode()  # read-only for them
    assert "orders.csv" in files
    text = detail.content.decode()
    assert "line 4 ·  ·  · UNKNOWN_MESSAGE_TYPE: MsgType: “SHIPPED” is not a message type" in text
    assert "source__startswith=orders.csv+%23" in text
    assert messages.status_code == 200 and "4 inbound messages" in messages.content.decode()
    # another merchant's admin sees none of it
    client.force_login(member_of(other_merchant, MembershipRole.ADMIN))
    other_files = client.get(reverse("admin:ingest_inboundfile_changelist")).content.decode()
    assert "orders.csv" not in other_files
    other_source = client.get(reverse("admin:ingest_filesource_change", args=[source.pk]))
    assert other_source.status_code == 302
