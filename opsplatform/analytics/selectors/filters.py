"""``?from=&to=&team=&service=&group_by=``: one parser for the page, the export and the API.

Dates are the organization's calendar days, both ends included. Anything that does not parse is an
error naming the parameter (a form error on the page, a 400 problem on the API), never a guess.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.utils import timezone
from django.utils.dateparse import parse_date

from incidents.models import Service
from opsplatform.accounts.models import Team
from opsplatform.analytics.services.timezones import day_bounds, local_day, zone
from opsplatform.core.ids import parse_id

GROUP_BY = ("day", "service", "severity")
DEFAULT_DAYS = 30
# The longest range one request may ask for: ten years of daily rollup rows stay a bounded read.
MAX_DAYS = 3660
EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)


@dataclass(frozen=True)
class Filters:
    organization_id: int
    time_zone: str
    start: date
    end: date
    team: Team | None = None
    service: Service | None = None
    group_by: str = "day"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bounds(self):
        return day_bounds(self.start, self.end, zone(self.time_zone))

    def query(self, **extra) -> dict[str, str]:
        """The filters as URL parameters: what the page links and exports carry."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.team is not None:
            params["team"] = self.team.slug
        if self.service is not None:
            params["service"] = self.service.slug
        if self.group_by != "day":
            params["group_by"] = self.group_by
        params.update({key: value for key, value in extra.items() if value is not None})
        return params

    def querystring(self, **extra) -> str:
        return urlencode(self.query(**extra))

    def as_params(self) -> dict:
        """What identifies the figures (a background report's key)."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "team": self.team.pk if self.team else None,
            "service": self.service.pk if self.service else None,
            "group_by": self.group_by,
            "time_zone": self.time_zone,
        }


@dataclass
class ParsedFilters:
    filters: Filters | None
    errors: dict[str, str] = field(default_factory=dict)


def _date(raw, name, errors):
    try:
        value = parse_date(raw.strip())
    except ValueError:
        value = None
    if value is None:
        errors[name] = "A date as YYYY-MM-DD, e.g. 2026-03-29."
    elif not EARLIEST <= value <= LATEST:
        errors[name] = "A date from 1970-01-01 to 2199-12-31."
        value = None
    return value


def _lookup(model, organization, raw, name, errors):
    raw = (raw or "").strip()
    if not raw:
        return None
    pk = parse_id(raw)
    queryset = model.objects.filter(organization=organization)
    found = queryset.filter(pk=pk).first() if pk is not None else queryset.filter(slug=raw).first()
    if found is None:
        errors[name] = f"No {model._meta.verbose_name} “{raw[:80]}” in this organization."
    return found


def parse_filters(organization, query, *, allow_group_by=GROUP_BY) -> ParsedFilters:
    errors: dict[str, str] = {}
    tz = zone(organization.time_zone)
    today = local_day(timezone.now(), tz)
    end = _date(query["to"], "to", errors) if query.get("to") else today
    start = _date(query["from"], "from", errors) if query.get("from") else None
    if start is None and "from" not in errors and end is not None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start and end:
        if start > end:
            errors["to"] = "The end of the range is before its start."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["from"] = f"A range of at most {MAX_DAYS} days."
    group_by = (query.get("group_by") or "day").strip()
    if group_by not in allow_group_by:
        errors["group_by"] = "One of: " + ", ".join(allow_group_by) + "."
    team = _lookup(Team, organization, query.get("team"), "team", errors)
    service = _lookup(Service, organization, query.get("service"), "service", errors)
    if errors:
        return ParsedFilters(None, errors)
    return ParsedFilters(
        Filters(
            organization_id=organization.pk,
            time_zone=tz.key,
            start=start,
            end=end,
            team=team,
            service=service,
            group_by=group_by,
        )
    )
