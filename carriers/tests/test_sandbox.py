from datetime import UTC, datetime, timedelta

import time_machine

from carriers.base import TrackQuery
from carriers.sandbox import Sandbox

CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _track(number: str, minutes_later: float):
    with time_machine.travel(CREATED + timedelta(minutes=minutes_later), tick=False):
        return Sandbox(minutes_per_step=10).track([TrackQuery(number, CREATED)])[number]


def test_a_delivered_scenario_walks_one_step_every_interval():
    # when / then
    assert [e.status for e in _track("SBXDELIVERED1", 0).events] == ["pre_transit"]
    assert _track("SBXDELIVERED1", 25).events[-1].status_detail == "departed_facility"
    finished = _track("SBXDELIVERED1", 75)
    assert [e.status for e in finished.events][-2:] == ["out_for_delivery", "delivered"]
    assert finished.events[-1].location.city == "Chicago"  # route chosen by the digits
    assert finished.estimated_delivery_date == (CREATED + timedelta(minutes=70)).date()


def test_each_scenario_ends_where_its_name_says():
    ends = {name: _track(f"SBX{name}3", 24 * 60).events[-1] for name in
            ("DELIVERED", "EXCEPTION", "RETURN", "PICKUP", "FAILED", "LOST")}  # fmt: skip
    assert {name: event.status for name, event in ends.items()} == {
        "DELIVERED": "delivered", "EXCEPTION": "exception", "RETURN": "return_to_sender",
        "PICKUP": "delivered", "FAILED": "delivered", "LOST": "in_transit",
    }  # fmt: skip
    assert ends["EXCEPTION"].exception_code == "002"
    assert ends["EXCEPTION"].event_type == "EXCEPTION"


def test_the_story_is_the_same_every_time():
    assert _track("SBXFAILED7", 200) == _track("SBXFAILED7", 200)


def test_a_number_that_is_not_a_sandbox_number_is_a_problem_not_a_crash():
    result = _track("SBXTELEPORT1", 10)
    assert (result.found, result.events) == (False, ())
    assert result.problem == "Not a sandbox number: SBX<SCENARIO><digits>."
