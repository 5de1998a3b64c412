"""When an interruption happened, on the responder's own wall clock.

* business hours: 08:00-18:00, Monday to Friday;
* sleep hours: 22:00-08:00, every day;
* off hours: the rest (18:00-22:00 Monday to Friday, 08:00-22:00 on Saturday and Sunday).

The instant is converted with ``zoneinfo``, so on a daylight-saving day the local hour is the one
the responder's clock showed: 07:30 UTC on 2026-03-29 is 09:30 in Berlin (summer time began at
02:00 local) and a Sunday, so off hours.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

BUSINESS = "business"
OFF_HOURS = "off_hours"
SLEEP = "sleep"
PERIODS = (BUSINESS, OFF_HOURS, SLEEP)

BUSINESS_START, BUSINESS_END, SLEEP_START = 8, 18, 22


def period_of(instant: datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    if local.hour >= SLEEP_START or local.hour < BUSINESS_START:
        return SLEEP
    if local.weekday() < 5 and local.hour < BUSINESS_END:
        return BUSINESS
    return OFF_HOURS
