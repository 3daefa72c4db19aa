"""Seed 002's statuses as API.md maps them from TRACKING.md's."""

import pytest

from carriers.seed002 import SEED002_STATUSES, native_statuses, seed002_status


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        ("unknown", "unknown", "LABEL_CREATED"),
        ("pre_transit", "label_created", "LABEL_CREATED"),
        ("pre_transit", "unknown", "LABEL_CREATED"),
        ("pre_transit", "pickup_scheduled", "PICKUP_SCHEDULED"),
        ("in_transit", "picked_up", "PICKED_UP"),
        ("in_transit", "accepted", "PICKED_UP"),
        ("in_transit", "arrived_at_facility", "IN_TRANSIT"),
        ("available_for_pickup", "available_for_pickup", "IN_TRANSIT"),
        ("out_for_delivery", "out_for_delivery", "OUT_FOR_DELIVERY"),
        ("delivered", "delivered", "DELIVERED"),
        ("failed_attempt", "recipient_not_available", "EXCEPTION"),
        ("exception", "address_issue", "EXCEPTION"),
        ("return_to_sender", "return_to_sender", "RETURNED"),
        ("cancelled", "unknown", "EXCEPTION"),
        ("expired", "unknown", "EXCEPTION"),
    ],
)
def test_each_of_our_statuses_reads_as_seed_002s(status, detail, expected):
    assert seed002_status(status, detail) == expected


def test_a_filter_by_a_seed_002_status_names_every_status_of_ours_it_covers():
    assert native_statuses("PICKED_UP") == {"in_transit"}
    assert native_statuses("EXCEPTION") == {"failed_attempt", "exception", "cancelled", "expired"}
    assert native_statuses("LABEL_CREATED") == {"unknown", "pre_transit"}
    assert all(native_statuses(status) for status in SEED002_STATUSES)
