"""A queue we create for a merchant (docs/channels.md, "A queue we create for you"), against moto:
the queues and their attributes as AWS keeps them, the OMS's IAM policy enforced by moto's IAM,
and a message the OMS sends read by our consumer into an order."""

import json
from unittest import mock

import boto3
import pytest
from django.core.management import call_command
from django.urls import reverse
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from ingest.channels.sqs_create import sqs_queue_create
from ingest.models import QueueSource
from ingest.tests.channel_samples import JSON_MAPPING, JSON_ORDER, dictionary
from merchants.tests.factories import member_of
from orders.models import Order

QUEUE = "ft-test-FDC-01-12345-orders"
DEAD_LETTERS = "ft-test-FDC-01-12345-orders-dlq"
ACCOUNT = "123456789012"  # moto's
QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/{QUEUE}"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{QUEUE}"
DEAD_LETTER_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{DEAD_LETTERS}"


@pytest.fixture
def sqs(monkeypatch, settings, fake_dns):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    settings.FLEXTRACKER_SQS_PREFIX = "ft-test"
    settings.FLEXTRACKER_SQS_REGION = "eu-west-1"
    settings.FLEXTRACKER_SQS_CONSUMER_ARN = ""
    fake_dns()  # AWS's names resolve to a public address for the consumer's SSRF guard
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


@pytest.fixture
def json_format(merchant):
    return dictionary(merchant, "json", JSON_MAPPING)


def attributes(sqs, url: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def oms_client(oms_policy: dict):
    """An IAM user of the account holding exactly the policy we hand out, and its SQS client."""
    iam = boto3.client("iam", region_name="eu-west-1")
    iam.create_user(UserName="oms")
    iam.put_user_policy(UserName="oms", PolicyName="flextracker-orders",
                        PolicyDocument=json.dumps(oms_policy))  # fmt: skip
    key = iam.create_access_key(UserName="oms")["AccessKey"]
    return boto3.client("sqs", region_name="eu-west-1", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip


def as_oms(call):
    """Runs `call` with moto checking every request's signature and IAM policy."""
    return set_initial_no_auth_action_count(0)(call)()


# --- The service -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_has_a_dead_letter_queue_redrive_encryption_and_the_merchants_tag(
    sqs, merchant, json_format
):
    # when
    created = sqs_queue_create(merchant=merchant, dictionary=json_format)
    # then: what AWS keeps
    assert sorted(sqs.list_queues()["QueueUrls"]) == [QUEUE_URL, f"{QUEUE_URL}-dlq"]
    queue, dead = attributes(sqs, QUEUE_URL), attributes(sqs, f"{QUEUE_URL}-dlq")
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": DEAD_LETTER_ARN, "maxReceiveCount": 5}  # fmt: skip
    assert (queue["VisibilityTimeout"], queue["ReceiveMessageWaitTimeSeconds"]) == ("30", "20")
    assert (queue["SqsManagedSseEnabled"], dead["SqsManagedSseEnabled"]) == ("true", "true")
    assert dead["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    for url in (QUEUE_URL, f"{QUEUE_URL}-dlq"):
        assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
            "flextracker:merchant": "FDC-01-12345"}  # fmt: skip
    consumer = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    policy = json.loads(queue["Policy"])
    assert policy == created.queue_policy
    assert [(s["Sid"], s["Effect"], s["Principal"]) for s in policy["Statement"]] == [
        ("FlexTrackerConsumer", "Allow", consumer), ("DenyPlainHttp", "Deny", "*")]  # fmt: skip
    assert policy["Statement"][0]["Action"] == [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes"]  # fmt: skip
    assert json.loads(dead["Policy"])["Statement"][0]["Action"] == [
        "sqs:SendMessage", "sqs:GetQueueAttributes"]  # fmt: skip
    # and the source our consumer reads
    source = QueueSource.objects.get()
    assert (source.merchant, source.name, source.kind, source.url, source.dead_letter_queue,
            source.region, source.dictionary, source.is_active) == (
        merchant, QUEUE, "sqs", QUEUE_URL, f"{QUEUE_URL}-dlq", "eu-west-1", json_format,
        True)  # fmt: skip
    assert (created.source, created.queue_url, created.region) == (source, QUEUE_URL, "eu-west-1")


@pytest.mark.django_db
def test_creating_it_again_reuses_the_queues_and_the_source(sqs, settings, merchant, json_format):
    # given
    first = sqs_queue_create(merchant=merchant, dictionary=None)
    sqs.send_message(QueueUrl=first.queue_url, MessageBody="{}")  # kept across the second run
    settings.FLEXTRACKER_SQS_MAX_RECEIVE_COUNT = 3
    # when
    second = sqs_queue_create(merchant=merchant, dictionary=json_format, oms_principal=ACCOUNT)
    # then
    assert second.queue_url == first.queue_url == QUEUE_URL
    assert len(sqs.list_queues()["QueueUrls"]) == 2
    assert attributes(sqs, QUEUE_URL)["ApproximateNumberOfMessages"] == "1"
    assert json.loads(attributes(sqs, QUEUE_URL)["RedrivePolicy"])["maxReceiveCount"] == 3
    assert list(QueueSource.objects.values_list("pk", "dictionary")) == [
        (first.source.pk, json_format.pk)]  # fmt: skip


@pytest.mark.django_db
def test_the_oms_account_named_is_admitted_to_send_and_only_to_send(sqs, merchant):
    # when
    created = sqs_queue_create(merchant=merchant, dictionary=None, oms_principal="111122223333")
    # then
    [_consumer, oms, _deny] = json.loads(attributes(sqs, QUEUE_URL)["Policy"])["Statement"]
    assert oms == {"Sid": "MerchantOmsSends", "Effect": "Allow",
                   "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                   "Action": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
                   "Resource": QUEUE_ARN}  # fmt: skip
    assert created.queue_policy["Statement"][1] == oms
    # when: pressed again without naming it (to see the page again)
    again = sqs_queue_create(merchant=merchant, dictionary=None)
    # then: still admitted
    assert json.loads(attributes(sqs, QUEUE_URL)["Policy"])["Statement"][1] == oms
    assert again.queue_policy == created.queue_policy


@pytest.mark.django_db
def test_another_merchants_dictionary_is_refused_before_aws_is_asked(sqs, merchant, other_merchant):
    theirs = dictionary(other_merchant, "json", JSON_MAPPING)
    with pytest.raises(ValueError, match=r"^The format dictionary belongs to another merchant\.$"):
        sqs_queue_create(merchant=merchant, dictionary=theirs)
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert not QueueSource.objects.exists()


@pytest.mark.django_db
def test_the_oms_policy_sends_to_that_queue_and_nothing_else(sqs, merchant, other_merchant):
    # given
    created = sqs_queue_create(merchant=merchant, dictionary=None)
    others = sqs_queue_create(merchant=other_merchant, dictionary=None)
    assert json.loads(json.dumps(created.oms_policy))["Statement"] == [{
        "Sid": "SendOrderEventsToFlexTracker", "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
        "Resource": QUEUE_ARN}]  # fmt: skip
    oms = oms_client(created.oms_policy)

    def attempts() -> dict:
        outcomes = {}
        for name, call in {
            "send to its queue": lambda: oms.send_message(QueueUrl=QUEUE_URL, MessageBody="{}"),
            "send to another merchant's": lambda: oms.send_message(
                QueueUrl=others.queue_url, MessageBody="{}"),
            "read its queue": lambda: oms.receive_message(QueueUrl=QUEUE_URL),
            "send to our dead letters": lambda: oms.send_message(
                QueueUrl=created.dead_letter_url, MessageBody="{}"),
        }.items():  # fmt: skip
            try:
                call()
                outcomes[name] = "allowed"
            except oms.exceptions.ClientError as error:  # moto answers in XML: its code inside
                outcomes[name] = "AccessDenied" if "<Code>AccessDenied<" in str(error) else error
        return outcomes

    # when / then
    assert as_oms(attempts) == {
        "send to its queue": "allowed", "send to another merchant's": "AccessDenied",
        "read its queue": "AccessDenied", "send to our dead letters": "AccessDenied"}  # fmt: skip


@pytest.mark.django_db(transaction=True)  # the consumer settles after a real commit
def test_what_the_oms_sends_with_its_policy_becomes_an_order(sqs, settings, merchant, json_format):
    # given
    settings.DEBUG = True
    created = sqs_queue_create(merchant=merchant, dictionary=json_format)
    oms = oms_client(created.oms_policy)
    as_oms(lambda: oms.send_message(QueueUrl=created.queue_url, MessageBody=json.dumps(JSON_ORDER)))
    # when: our consumer, as it runs for the merchant
    out = mock.MagicMock()
    call_command("consume", "FDC-01-12345", "--once", "--wait", "1", stdout=out)
    # then
    written = "".join(call.args[0] for call in out.write.call_args_list)
    assert f"sqs:{QUEUE}: 1 processed, 0 dead-lettered" in written
    order = Order.objects.get()
    assert (order.merchant, order.order_id) == (merchant, "2002")
    assert sorted(order.line_items.values_list("item_id", "quantity_ordered")) == [
        ("BULB", 3), ("LAMP", 1)]  # fmt: skip
    assert attributes(sqs, QUEUE_URL)["ApproximateNumberOfMessages"] == "0"


# --- The console -------------------------------------------------------------------------------


def create_page(merchant) -> str:
    return reverse("admin:ingest_queuesource_create_sqs", args=[merchant.pk])


@pytest.mark.django_db
def test_staff_create_the_queue_from_the_merchants_page(sqs, staff_client, merchant, json_format):
    # given: the button on the merchant's page
    page = staff_client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert f'href="{create_page(merchant)}"' in page.content.decode()
    assert "json format" in staff_client.get(create_page(merchant)).content.decode()
    # when
    response = staff_client.post(create_page(merchant), {"dictionary": json_format.pk})
    # then
    assert response.status_code == 200
    assert response.context["created"].queue_url == QUEUE_URL
    html = response.content.decode()
    assert f'<code id="queue-url">{QUEUE_URL}</code>' in html
    assert '<code id="queue-region">eu-west-1</code>' in html
    shown = json.loads(response.context["oms_policy"])
    assert shown["Statement"][0]["Resource"] == QUEUE_ARN
    assert f"&quot;Resource&quot;: &quot;{QUEUE_ARN}&quot;" in html
    assert QueueSource.objects.get().dictionary == json_format
    # the queue source's page shows the OMS's policy again
    source_page = staff_client.get(
        reverse("admin:ingest_queuesource_change", args=[QueueSource.objects.get().pk])
    )
    assert f"&quot;Resource&quot;: &quot;{QUEUE_ARN}&quot;" in source_page.content.decode()


@pytest.mark.django_db
def test_an_aws_refusal_is_shown_plainly_and_nothing_is_created(sqs, staff_client, merchant):
    # when: our credentials are not the account's (moto checks them for this request)
    response = as_oms(lambda: staff_client.post(create_page(merchant), {"dictionary": ""}))
    # then
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"]]
    assert message == ("No queue was created. AWS refused (InvalidClientTokenId): The security "
                       "token included in the request is invalid.")  # fmt: skip
    assert "Traceback" not in response.content.decode()
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert not QueueSource.objects.exists()


@pytest.mark.django_db
def test_another_merchants_dictionary_or_a_bad_principal_is_refused(
    sqs, staff_client, merchant, other_merchant
):
    theirs = dictionary(other_merchant, "json", JSON_MAPPING)
    # when
    response = staff_client.post(
        create_page(merchant), {"dictionary": theirs.pk, "oms_principal": "arn:aws:s3:::bucket"}
    )
    # then
    assert response.context["form"].errors == {
        "dictionary": ["Select a valid choice. That choice is not one of the available choices."],
        "oms_principal": ["Give a 12-digit AWS account id or an IAM role or user ARN."],
    }  # fmt: skip
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert not QueueSource.objects.exists()


@pytest.mark.django_db
def test_merchant_users_neither_see_the_button_nor_create_queues(client, sqs, merchant):
    # given: the merchant's own admin
    client.force_login(member_of(merchant, "admin"))
    page = client.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert page.status_code == 200
    assert create_page(merchant) not in page.content.decode()
    # when
    response = client.post(create_page(merchant), {"dictionary": ""})
    # then
    assert response.status_code == 403
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert not QueueSource.objects.exists()


@pytest.mark.django_db
def test_a_merchant_that_does_not_exist_is_a_404(sqs, staff_client, merchant):
    response = staff_client.get(reverse("admin:ingest_queuesource_create_sqs", args=[99999]))
    assert response.status_code == 404
