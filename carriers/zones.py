"""Where a carrier gives wall-clock times without an offset, the place's zone turns them into
moments. Pure data."""

from zoneinfo import ZoneInfo

US_ZONES = {
    "America/New_York": "CT DC DE FL GA IN KY MA MD ME MI NC NH NJ NY OH PA RI SC VA VT WV",
    "America/Chicago": "AL AR IA IL KS LA MN MO MS ND NE OK SD TN TX WI",
    "America/Denver": "CO ID MT NM UT WY",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
    "America/Puerto_Rico": "PR VI",
    "Pacific/Guam": "GU MP",
}  # a state's main zone: scans carry wall-clock times, sometimes without an offset
ZONE_BY_STATE = {state: zone for zone, states in US_ZONES.items() for state in states.split()}


def us_state_zone(state: object) -> ZoneInfo | None:
    """The main time zone of a US state or territory (two-letter code), for wall-clock times."""
    name = ZONE_BY_STATE.get(("" if state is None else str(state)).strip().upper())
    return ZoneInfo(name) if name else None
