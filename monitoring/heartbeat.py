"""When a heartbeat monitor's next ping is due, and when it is late.

Two schedules (``Monitor.assertions``): ``{"period": seconds, "grace": seconds}``, or
``{"cron": "0 9 * * *", "tz": "Europe/Berlin", "grace": seconds}``. A cron expression is evaluated in
its own time zone with cronsim, so "09:00 every day" stays 09:00 local across daylight-saving
changes (07:00 UTC in summer, 08:00 UTC in winter for Berlin); a non-existent or repeated local time
is handled by cronsim's rules (the job runs once).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

DEFAULT_GRACE = 60


def validate(assertions: dict) -> dict[str, str]:
    errors = {}
    grace = assertions.get("grace", DEFAULT_GRACE)
    if not isinstance(grace, int) or not 0 <= grace <= 7 * 86400:
        errors["grace"] = "Seconds from 0 to 604800."
    if "cron" in assertions:
        try:
            CronSim(str(assertions["cron"]), datetime.now(ZoneInfo("UTC")))
        except CronSimError as exc:
            errors["cron"] = f"Not a cron expression: {exc}"
        try:
            ZoneInfo(str(assertions.get("tz", "UTC")))
        except (KeyError, ValueError):
            errors["tz"] = "Not a known time zone."
    else:
        period = assertions.get("period")
        if not isinstance(period, int) or not 10 <= period <= 366 * 86400:
            errors["period"] = "A heartbeat needs a period in seconds (10 to 31622400) or a cron expression."
    return errors


def expected_after(assertions: dict, since: datetime) -> datetime:
    """When the next ping is expected, given the last one (or the monitor's start) at ``since``."""
    if "cron" in assertions:
        zone = ZoneInfo(str(assertions.get("tz", "UTC")))
        return next(CronSim(str(assertions["cron"]), since.astimezone(zone))).astimezone(ZoneInfo("UTC"))
    return since + timedelta(seconds=int(assertions["period"]))


def deadline(assertions: dict, since: datetime) -> datetime:
    """After this moment without a ping the heartbeat is late."""
    return expected_after(assertions, since) + timedelta(seconds=int(assertions.get("grace", DEFAULT_GRACE)))
