"""Forms of the integration, routing rule and maintenance window pages.

Matchers are typed one per line in a small language instead of JSON::

    labels.service = payment
    severity =~ ^sev[12]$
    labels.env exists
    status != resolved
"""

import json
import zoneinfo

from django import forms

from incidents.ingest.conf import valid_rate
from incidents.ingest.formats.webhook import validate_mapping
from incidents.ingest.matching import validate_matchers
from incidents.models import (
    IntegrationKind,
    Priority,
    Recurrence,
    RoutingAction,
    Service,
    Severity,
)
from opsplatform.accounts.models import Team
from opsplatform.core.widgets import CheckboxDropdown, Chips

OPERATORS = {"=": ("equals", False), "!=": ("equals", True), "=~": ("regex", False), "!~": ("regex", True)}
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


def parse_matchers(text: str) -> list[dict]:
    matchers = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) == 2 and parts[1] in ("exists", "!exists"):
            matchers.append({"field": parts[0], "op": "exists", "negate": parts[1] == "!exists"})
            continue
        if len(parts) < 3 or parts[1] not in OPERATORS:
            raise forms.ValidationError(
                f"Line {number}: write “field op value” with op one of = != =~ !~, or “field exists”."
            )
        op, negate = OPERATORS[parts[1]]
        matcher = {"field": parts[0], "op": op, "value": parts[2]}
        if negate:
            matcher["negate"] = True
        matchers.append(matcher)
    problem = validate_matchers(matchers)
    if problem:
        raise forms.ValidationError(problem)
    return matchers


def format_matchers(matchers: list[dict]) -> str:
    lines = []
    for matcher in matchers or []:
        negate = matcher.get("negate", False)
        if matcher.get("op") == "exists":
            lines.append(f"{matcher['field']} {'!exists' if negate else 'exists'}")
            continue
        symbol = {"equals": "!=" if negate else "=", "regex": "!~" if negate else "=~"}[
            matcher.get("op", "equals")
        ]
        lines.append(f"{matcher['field']} {symbol} {matcher.get('value', '')}")
    return "\n".join(lines)


def parse_labels(text: str) -> dict[str, str]:
    labels = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError(f"Line {number}: write “name=value”.")
        labels[key.strip()] = value.strip()
    return labels


class MatchersField(forms.CharField):
    widget = forms.Textarea(
        attrs={"rows": 3, "placeholder": "labels.service = payment\nseverity =~ ^sev[12]$"}
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", "One per line: field = value, != value, =~ regex, !~ regex, or “field exists”."
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_matchers(value) if isinstance(value, list) else value

    def clean(self, value):
        return parse_matchers(super().clean(value) or "")


# Which fields each kind has, grouped as the form shows them: a form of one kind has no field of
# another (a posted value for one is ignored), so a PagerDuty integration never shows a mapping.
BASICS = ("name", "service", "enabled")
HANDLING = ("grouping", "group_window_seconds", "auto_resolve", "throttle_rate")
FIELDSETS = {
    IntegrationKind.ALERTMANAGER: [("Basics", BASICS), ("Alert handling", HANDLING)],
    IntegrationKind.GRAFANA: [
        ("Basics", BASICS),
        ("Alert handling", HANDLING),
        ("Signature", ("hmac_secret", "clear_hmac_secret", "hmac_header", "hmac_timestamp_header")),
    ],
    IntegrationKind.PAGERDUTY: [("Basics", BASICS), ("Alert handling", HANDLING)],
    IntegrationKind.WEBHOOK: [
        ("Basics", BASICS),
        ("Alert handling", HANDLING),
        ("Mapping", ("webhook_mapping",)),
    ],
    IntegrationKind.HEARTBEAT: [
        ("Basics", BASICS),
        (
            "Heartbeat",
            ("heartbeat_period_seconds", "heartbeat_grace_seconds", "auto_resolve", "throttle_rate"),
        ),
    ],
}
FIELDSET_HELP = {
    "Alert handling": "How alerts of this source become incidents.",
    "Signature": "Grafana signs each request with a shared secret; set it here to refuse unsigned requests.",
    "Mapping": "Which parts of your JSON become the alert's fields.",
    "Heartbeat": "Your job pings the endpoint; when a ping is late, an incident opens.",
}
KIND_HELP = {
    IntegrationKind.ALERTMANAGER: "Prometheus Alertmanager's webhook receiver (webhook_configs).",
    IntegrationKind.GRAFANA: "Grafana alerting's webhook contact point, optionally HMAC-signed.",
    IntegrationKind.PAGERDUTY: "Anything that speaks the PagerDuty Events API v2 (routing_key in the body).",
    IntegrationKind.WEBHOOK: "Any JSON document, mapped to alert fields by pointers or templates.",
    IntegrationKind.HEARTBEAT: "A job or cron pings on a schedule; silence opens an incident.",
}


class IntegrationForm(forms.Form):
    """The fields of one kind (``kind``): on creation the kind comes from the picker, on edit it is
    the integration's own and cannot change."""

    name = forms.CharField(max_length=150)
    kind = forms.ChoiceField(choices=IntegrationKind.choices, widget=forms.HiddenInput)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        label="Default service",
        help_text="Where alerts go unless a routing rule sends them elsewhere.",
    )
    enabled = forms.BooleanField(required=False, initial=True, help_text="Refuse requests while off.")
    grouping = forms.BooleanField(
        required=False, initial=True, help_text="Alerts with the same group key join one incident."
    )
    group_window_seconds = forms.IntegerField(
        min_value=0,
        initial=3600,
        required=False,
        label="Group window (s)",
        help_text="0: join while the incident is open.",
    )
    auto_resolve = forms.BooleanField(
        required=False, initial=True, help_text="Resolve the incident when every alert resolved."
    )
    throttle_rate = forms.CharField(
        max_length=32,
        required=False,
        label="Rate limit",
        help_text='e.g. "600/min"; empty: platform default.',
    )
    heartbeat_period_seconds = forms.IntegerField(min_value=30, required=False, label="Period (s)")
    heartbeat_grace_seconds = forms.IntegerField(min_value=0, initial=60, required=False, label="Grace (s)")
    hmac_secret = forms.CharField(
        required=False,
        max_length=512,
        widget=forms.PasswordInput(render_value=False),
        label="HMAC secret",
        help_text="Leave empty to keep the current one.",
    )
    clear_hmac_secret = forms.BooleanField(required=False, label="Remove the HMAC secret")
    hmac_header = forms.CharField(
        max_length=100, initial="X-Grafana-Alerting-Signature", required=False, label="Signature header"
    )
    hmac_timestamp_header = forms.CharField(
        max_length=100, initial="X-Grafana-Alerting-Timestamp", required=False, label="Timestamp header"
    )
    webhook_mapping = forms.CharField(
        required=False,
        label="Field mapping",
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono"}),
        help_text="JSON object of field → pointer (/a/b), template ({{ /a }} …) or literal. "
        "Empty: the default mapping.",
    )

    def __init__(self, *args, organization, kind=None, integration=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.kind = integration.kind if integration is not None else kind
        if self.kind not in IntegrationKind.values:
            raise ValueError(f"unknown integration kind {self.kind!r}")
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")
        self.fields["kind"].initial = self.kind
        keep = {"kind"} | {name for _title, names in FIELDSETS[self.kind] for name in names}
        if integration is not None:
            keep.discard("kind")
        else:
            keep.discard("clear_hmac_secret")
            self.fields["hmac_secret"].help_text = "Optional: without one, requests are not verified."
        for name in set(self.fields) - keep:
            del self.fields[name]
        if self.kind == IntegrationKind.HEARTBEAT:
            self.fields["heartbeat_period_seconds"].required = True

    def fieldsets(self) -> list[dict]:
        """The kind's field groups, as the template draws them."""
        return [
            {
                "title": title,
                "help": FIELDSET_HELP.get(title, ""),
                "fields": [self[name] for name in names if name in self.fields],
            }
            for title, names in FIELDSETS[self.kind]
        ]

    @classmethod
    def initial_for(cls, integration) -> dict:
        return {
            "name": integration.name,
            "service": integration.service,
            "enabled": integration.enabled,
            "grouping": integration.grouping,
            "group_window_seconds": integration.group_window_seconds,
            "auto_resolve": integration.auto_resolve,
            "throttle_rate": integration.throttle_rate,
            "heartbeat_period_seconds": integration.heartbeat_period_seconds,
            "heartbeat_grace_seconds": integration.heartbeat_grace_seconds,
            "hmac_header": integration.hmac_header,
            "hmac_timestamp_header": integration.hmac_timestamp_header,
            "webhook_mapping": json.dumps(integration.webhook_mapping, indent=2)
            if integration.webhook_mapping
            else "",
        }

    def clean_kind(self):
        # The kind is the one the page was drawn for: a form cannot turn into another kind's.
        if self.cleaned_data["kind"] != self.kind:
            raise forms.ValidationError("The kind cannot change; start again from “New integration”.")
        return self.kind

    def clean_throttle_rate(self):
        value = self.cleaned_data["throttle_rate"].strip()
        if value and not valid_rate(value):
            raise forms.ValidationError('A rate like "600/min".')
        return value

    def clean_webhook_mapping(self):
        text = self.cleaned_data["webhook_mapping"].strip()
        if not text:
            return {}
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc
        problems = validate_mapping(mapping)
        if problems:
            raise forms.ValidationError(list(problems.values()))
        return mapping

    def service_values(self) -> dict:
        """The cleaned data as the service functions take it: only this kind's fields."""
        data = self.cleaned_data
        values = {name: data[name] for name in ("name", "service", "enabled", "throttle_rate")}
        for name in ("grouping", "auto_resolve", "heartbeat_period_seconds"):
            if name in self.fields:
                values[name] = data[name]
        if "group_window_seconds" in self.fields:
            values["group_window_seconds"] = data["group_window_seconds"] or 0
        if "heartbeat_grace_seconds" in self.fields:
            values["heartbeat_grace_seconds"] = data["heartbeat_grace_seconds"] or 0
        if "webhook_mapping" in self.fields:
            values["webhook_mapping"] = data["webhook_mapping"]
        if "hmac_header" in self.fields:
            values["hmac_header"] = data["hmac_header"] or "X-Grafana-Alerting-Signature"
            values["hmac_timestamp_header"] = data["hmac_timestamp_header"]
            if data["hmac_secret"]:
                values["hmac_secret"] = data["hmac_secret"]
            elif data.get("clear_hmac_secret"):
                values["hmac_secret"] = ""
        if self.integration is None:
            values["kind"] = self.kind
        return values


class IntegrationFilterForm(forms.Form):
    """The integration list's filters, all in the URL: ``?kind=grafana&service=3``."""

    kind = forms.MultipleChoiceField(choices=IntegrationKind.choices, required=False, widget=Chips)
    service = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=CheckboxDropdown(empty_label="All services"),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")

    def filter(self, queryset):
        # A value that is not a choice (another organization's service) is dropped on its own; the
        # other filters still apply.
        self.is_valid()
        data = self.cleaned_data
        if data.get("kind"):
            queryset = queryset.filter(kind__in=data["kind"])
        if data.get("service"):
            queryset = queryset.filter(service__in=data["service"])
        return queryset

    @property
    def active(self) -> bool:
        return bool(self.is_valid() and any(self.cleaned_data.values()))


class MaintenanceFilterForm(forms.Form):
    """The maintenance list's filter: ``?service=3`` (the service page links here)."""

    service = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=CheckboxDropdown(empty_label="All services"),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")

    def filter(self, queryset):
        self.is_valid()
        if self.cleaned_data.get("service"):
            queryset = queryset.filter(service__in=self.cleaned_data["service"])
        return queryset

    @property
    def active(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data.get("service"))


class RoutingRuleForm(forms.Form):
    name = forms.CharField(max_length=150)
    enabled = forms.BooleanField(required=False, initial=True)
    matchers = MatchersField()
    action = forms.ChoiceField(choices=RoutingAction.choices, initial=RoutingAction.ROUTE)
    route_service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, label="Route to service"
    )
    route_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Team")
    set_severity = forms.ChoiceField(choices=[("", "Keep"), *Severity.choices], required=False)
    set_priority = forms.ChoiceField(choices=[("", "Default"), *Priority.choices], required=False)
    add_labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="One per line: name=value"
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["route_service"].queryset = Service.objects.for_organization(organization).order_by(
            "name"
        )
        self.fields["route_team"].queryset = Team.objects.for_organization(organization).order_by("name")

    @classmethod
    def initial_for(cls, rule) -> dict:
        return {
            "name": rule.name,
            "enabled": rule.enabled,
            "matchers": rule.matchers,
            "action": rule.action,
            "route_service": rule.route_service,
            "route_team": rule.route_team,
            "set_severity": rule.set_severity,
            "set_priority": rule.set_priority,
            "add_labels": "\n".join(f"{k}={v}" for k, v in (rule.add_labels or {}).items()),
        }

    def clean_add_labels(self):
        return parse_labels(self.cleaned_data["add_labels"])


class MaintenanceWindowForm(forms.Form):
    name = forms.CharField(max_length=150)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False)
    matchers = MatchersField(help_text="Alerts matching every line (with or without a service).")
    recurrence = forms.ChoiceField(choices=Recurrence.choices)
    starts_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="In the time zone below.",
    )
    ends_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    start_time = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, required=False)
    time_zone = forms.CharField(max_length=64)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")
        self.fields["time_zone"].initial = organization.time_zone or "UTC"

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise forms.ValidationError(f"{value!r} is not a known IANA time zone.") from exc
        return value

    def clean(self):
        data = super().clean()
        zone = data.get("time_zone")
        if zone:
            tz = zoneinfo.ZoneInfo(zone)
            # The datetime inputs are wall-clock times in the window's own time zone.
            for field in ("starts_at", "ends_at"):
                value = data.get(field)
                if value is not None:
                    data[field] = value.replace(tzinfo=tz)
        return data

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "service": data["service"],
            "matchers": data["matchers"],
            "recurrence": data["recurrence"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "weekdays": data["weekdays"],
            "start_time": data["start_time"],
            "duration_minutes": data["duration_minutes"],
            "time_zone": data["time_zone"],
            "enabled": data["enabled"],
        }

    @classmethod
    def initial_for(cls, window) -> dict:
        tz = zoneinfo.ZoneInfo(window.time_zone or "UTC")

        def local(value):
            return value.astimezone(tz).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M") if value else None

        return {
            "name": window.name,
            "service": window.service,
            "matchers": window.matchers,
            "recurrence": window.recurrence,
            "starts_at": local(window.starts_at),
            "ends_at": local(window.ends_at),
            "weekdays": window.weekdays,
            "start_time": window.start_time,
            "duration_minutes": window.duration_minutes,
            "time_zone": window.time_zone,
            "enabled": window.enabled,
        }


class MappingTestForm(forms.Form):
    payload = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 10, "class": "mono", "placeholder": '{"title": "Disk full", …}'}
        ),
        max_length=64 * 1024,
        help_text="A sample request body, as your tool would send it.",
    )
    mapping = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        required=False,
        max_length=16 * 1024,
        help_text="Try another mapping here (not saved); empty: the integration's own.",
    )

    def _json(self, field):
        text = self.cleaned_data[field].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from exc

    def clean_payload(self):
        return self._json("payload")

    def clean_mapping(self):
        mapping = self._json("mapping")
        if mapping is not None:
            problems = validate_mapping(mapping)
            if problems:
                raise forms.ValidationError(list(problems.values()))
        return mapping
