"""A queue we create for a merchant whose OMS has none (docs/channels.md, "A queue we create for
you"): in the platform's AWS account (boto3's default credential chain), an SQS queue and its
dead-letter queue with a redrive policy, then the QueueSource our consumer reads.

Idempotent: run again, it finds the queues by name, brings their attributes, tags and policies to
what the settings say, and updates the same QueueSource. AWS is called first, the database written
after (never a network call inside a transaction).
"""

import json
import re
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction

from ingest.models import FormatDictionary, QueueKind, QueueSource
from merchants.models import Merchant

DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's longest: time to replay what died
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
VISIBILITY_TIMEOUT_SECONDS = 30  # SqsBroker's keeper extends it while a message is in hand
LONG_POLL_SECONDS = 20
MERCHANT_TAG = "flextracker:merchant"
OMS_STATEMENT = "MerchantOmsSends"
# An AWS account id, or an IAM role or user ARN (the OMS's own identity, in its account).
OMS_PRINCIPAL_PATTERN = r"[0-9]{12}|arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]{1,512}"
OMS_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes"]  # fmt: skip
# Our consumer dead-letters a rejected message itself, with the reason (ingest/channels/brokers.py).
CONSUMER_DEAD_LETTER_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueAttributes"]


class SqsCreateFailed(Exception):
    """AWS refused or could not be reached; the message says which and why (no secret in it)."""


@dataclass(frozen=True, slots=True)
class CreatedQueue:
    source: QueueSource
    queue_url: str
    queue_arn: str
    dead_letter_url: str
    region: str
    oms_policy: dict  # to attach to the OMS's IAM user or role
    queue_policy: dict  # what the queue itself allows, as set


def sqs_queue_names(merchant: Merchant) -> tuple[str, str]:
    """`<prefix>-<merchant id>-orders` and its `-dlq`: SQS allows letters, digits, - and _."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", settings.FLEXTRACKER_SQS_PREFIX).strip("-")
    base = f"{prefix}-{merchant.merchant_id}-orders"
    return base, f"{base}-dlq"


def sqs_queue_create(
    *, merchant: Merchant, dictionary: FormatDictionary | None, oms_principal: str = ""
) -> CreatedQueue:
    """Creates (or finds) the merchant's queue and dead-letter queue and points a QueueSource at
    them. `oms_principal`: the OMS's AWS account or role, admitted by the queue policy (another
    account needs that as well as its own IAM policy); blank for an identity of our account."""
    if dictionary is not None and dictionary.merchant_id != merchant.pk:
        raise ValueError("The format dictionary belongs to another merchant.")
    if oms_principal and not re.fullmatch(OMS_PRINCIPAL_PATTERN, oms_principal):
        raise ValueError("The OMS principal is neither an AWS account id nor an IAM ARN.")
    region = settings.FLEXTRACKER_SQS_REGION
    try:
        created = _queues_ensure(boto3.client("sqs", region_name=region), merchant,
                                 _principal_arn(oms_principal))  # fmt: skip
    except (BotoCoreError, ClientError) as error:
        raise SqsCreateFailed(_aws_problem(error)) from error
    queue_url, queue_arn, dead_letter_url, queue_policy = created
    source = _source_save(merchant, queue_url, dead_letter_url, region, dictionary)
    return CreatedQueue(source, queue_url, queue_arn, dead_letter_url, region,
                        oms_policy_document(queue_arn), queue_policy)  # fmt: skip


def _queues_ensure(client, merchant: Merchant, oms_principal: str) -> tuple[str, str, str, dict]:
    """The dead-letter queue, then the queue redriving to it, then both policies (they name the
    ARNs, known once the queues exist): the queue's URL and ARN, the DLQ's URL, the policy set."""
    name, dead_letter_name = sqs_queue_names(merchant)
    tags = {MERCHANT_TAG: merchant.merchant_id}
    dead_letter_url, dead_letter_arn, _policy = _queue_ensure(client, dead_letter_name, tags, {
        "MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true"})  # fmt: skip
    queue_url, queue_arn, policy = _queue_ensure(
        client, name, tags, _queue_attributes(dead_letter_arn)
    )
    consumer = settings.FLEXTRACKER_SQS_CONSUMER_ARN or _account_root(queue_arn)
    oms_principal = oms_principal or _oms_principal_admitted(policy)
    queue_policy = queue_policy_document(queue_arn, consumer, oms_principal)
    dead_letter_policy = dead_letter_policy_document(dead_letter_arn, consumer)
    for url, document in ((queue_url, queue_policy), (dead_letter_url, dead_letter_policy)):
        client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(document)})
    return queue_url, queue_arn, dead_letter_url, queue_policy


def oms_policy_document(queue_arn: str) -> dict:
    """The IAM policy the OMS's identity needs: send to this one queue, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "SendOrderEventsToFlexTracker", "Effect": "Allow",
                       "Action": OMS_ACTIONS, "Resource": queue_arn}],
    }  # fmt: skip


def queue_policy_document(queue_arn: str, consumer: str, oms_principal: str = "") -> dict:
    statements = [
        {"Sid": "FlexTrackerConsumer", "Effect": "Allow", "Principal": {"AWS": consumer},
         "Action": CONSUMER_ACTIONS, "Resource": queue_arn},
    ]  # fmt: skip
    if oms_principal:
        statements.append({"Sid": OMS_STATEMENT, "Effect": "Allow",
                           "Principal": {"AWS": oms_principal}, "Action": OMS_ACTIONS,
                           "Resource": queue_arn})  # fmt: skip
    statements.append(_deny_plain_http(queue_arn))
    return {"Version": "2012-10-17", "Statement": statements}


def dead_letter_policy_document(dead_letter_arn: str, consumer: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "FlexTrackerConsumerDeadLetters", "Effect": "Allow",
         "Principal": {"AWS": consumer}, "Action": CONSUMER_DEAD_LETTER_ACTIONS,
         "Resource": dead_letter_arn},
        _deny_plain_http(dead_letter_arn),
    ]}  # fmt: skip


def queue_arn_from_url(url: str) -> str:
    """`https://sqs.<region>.amazonaws.com/<account>/<name>` → its ARN; "" for another host."""
    match = re.fullmatch(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/([0-9]{12})/([\w-]+)", url)
    return f"arn:aws:sqs:{match[1]}:{match[2]}:{match[3]}" if match else ""


def _queue_attributes(dead_letter_arn: str) -> dict[str, str]:
    redrive = {"deadLetterTargetArn": dead_letter_arn,
               "maxReceiveCount": settings.FLEXTRACKER_SQS_MAX_RECEIVE_COUNT}  # fmt: skip
    return {
        "RedrivePolicy": json.dumps(redrive),
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "ReceiveMessageWaitTimeSeconds": str(LONG_POLL_SECONDS),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    }


def _queue_ensure(client, name: str, tags: dict, attributes: dict) -> tuple[str, str, str]:
    """The queue's URL, ARN and policy before this run ("" for a new one): created, or found and
    brought to `attributes` and `tags`."""
    try:
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
    except client.exceptions.QueueDoesNotExist:
        url = client.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
        policy = ""
    else:
        policy = _attributes(client, url, "Policy").get("Policy", "")
        client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        client.tag_queue(QueueUrl=url, Tags=tags)
    return url, _attributes(client, url, "QueueArn")["QueueArn"], policy


def _attributes(client, url: str, name: str) -> dict:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=[name]).get("Attributes", {})


def _oms_principal_admitted(policy: str) -> str:
    """Pressing the button again without naming the OMS keeps the one admitted before (its
    messages would otherwise be refused from then on)."""
    statements = json.loads(policy)["Statement"] if policy else []
    return next((statement["Principal"]["AWS"] for statement in statements
                 if statement.get("Sid") == OMS_STATEMENT), "")  # fmt: skip


def _source_save(merchant, queue_url, dead_letter_url, region, dictionary) -> QueueSource:
    with transaction.atomic():
        source, _created = QueueSource.objects.update_or_create(
            merchant=merchant, name=sqs_queue_names(merchant)[0],
            defaults={"kind": QueueKind.SQS, "url": queue_url, "queue_name": "",
                      "dead_letter_queue": dead_letter_url, "region": region,
                      "dictionary": dictionary, "is_active": True},
        )  # fmt: skip
    return source


def _deny_plain_http(arn: str) -> dict:
    return {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
            "Resource": arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}  # fmt: skip


def _account_root(arn: str) -> str:
    """Our own account: its IAM policies decide which of our roles may consume."""
    partition, account = arn.split(":")[1], arn.split(":")[4]
    return f"arn:{partition}:iam::{account}:root"


def _principal_arn(principal: str) -> str:
    return f"arn:aws:iam::{principal}:root" if principal.isdigit() else principal


def _aws_problem(error: BotoCoreError | ClientError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code", "Error"), details.get("Message") or "no details"
        if body := re.search(r"<Code>(.*?)</Code>\s*<Message>(.*?)</Message>", message, re.S):
            code, message = body[1], body[2]  # an XML error body botocore did not parse
        return f"AWS refused ({code}): {message[:300]}"
    return f"AWS could not be reached: {str(error)[:300]}"
