"""Merging a split order's messages while other transactions queue and send (PostgreSQL row
locks): never two messages where one was meant, and never a package left untold."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification, NotificationStatus
from notifications.sending import notifications_send_due
from notifications.tests.test_split_orders import WINDOW, move, split_order
from tests.concurrency import requires_postgresql, run_at_once

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def merge_window(settings):
    settings.CUSTOMER_MESSAGE_MERGE_SECONDS = WINDOW


def test_two_packages_moving_at_once_are_queued_as_one_message(merchant, inbox):
    # given
    shipments = iter(split_order(merchant))
    # when: both packages' moves are applied by two workers at the same moment
    results = run_at_once(2, lambda: move(next(shipments), "in_transit"))
    # then: one message waiting, about both packages; the other merged into it
    assert results == [None, None]
    rows = Notification.objects.filter(channel="email")
    assert sorted(rows.values_list("status", flat=True)) == [
        NotificationStatus.MERGED, NotificationStatus.PENDING
    ]  # fmt: skip
    assert rows.get(status=NotificationStatus.PENDING).payload["package"]["numbers"] == [1, 2]
    notifications_send_due(now=timezone.now() + timedelta(seconds=WINDOW + 1))
    assert [m["Subject"] for m in inbox.messages] == [
        "2 packages of your order 1001 are on their way"
    ]


@pytest.mark.parametrize("attempt", range(3))
def test_a_package_moving_while_the_waiting_message_is_sent_is_told_all_the_same(
    merchant, inbox, attempt
):
    # given: the mugs' message waiting, its window over
    mugs, towel = split_order(merchant)
    move(mugs, "in_transit")
    later = timezone.now() + timedelta(seconds=WINDOW + 1)
    actions = iter([lambda: notifications_send_due(now=later), lambda: move(towel, "in_transit")])
    # when: the sender claims it while the tea towel's move is queued
    results = run_at_once(2, lambda: next(actions)())
    notifications_send_due(now=later + timedelta(seconds=WINDOW + 1))
    # then: whichever came first, both packages were told, each once
    assert not [result for result in results if isinstance(result, Exception)]
    told = sorted(m["Subject"] for m in inbox.messages)
    assert told in (
        ["2 packages of your order 1001 are on their way"],
        ["Package 1 of 2 of your order 1001 is on its way",
         "Package 2 of 2 of your order 1001 is on its way"],
    )  # fmt: skip
