"""The monitor pages' forms: list filters (in the URL) and one creation form per kind."""

from __future__ import annotations

from django import forms

from incidents.models import Service
from monitoring.models import MIN_INTERVAL_SECONDS, MonitorKind, MonitorState
from monitoring.probes.dns import RECORD_TYPES
from opsplatform.core.widgets import Chips


class MonitorFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    state = forms.MultipleChoiceField(required=False, choices=MonitorState.choices, widget=Chips)
    kind = forms.MultipleChoiceField(required=False, choices=MonitorKind.choices, widget=Chips)


class MonitorForm(forms.Form):
    """Common fields; ``KIND_FIELDS`` says which extra fields each kind's dialog shows."""

    kind = forms.ChoiceField(choices=MonitorKind.choices, widget=forms.HiddenInput)
    name = forms.CharField(max_length=150)
    target = forms.CharField(max_length=2048)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="No service"
    )
    interval_seconds = forms.IntegerField(
        min_value=MIN_INTERVAL_SECONDS, max_value=86400, initial=60, label="Interval (s)"
    )
    down_after = forms.IntegerField(min_value=1, max_value=50, initial=2, label="Down after (failures)")
    up_after = forms.IntegerField(min_value=1, max_value=50, initial=1, label="Up after (successes)")
    # http
    method = forms.ChoiceField(required=False, choices=[(m, m) for m in ("GET", "HEAD", "POST")])
    expected_status = forms.CharField(required=False, help_text="Comma-separated, e.g. 200, 204.")
    body_contains = forms.CharField(required=False, max_length=500)
    tls_expiry_days = forms.IntegerField(
        required=False, min_value=1, max_value=365, label="TLS expiry warning (days)"
    )
    degraded_latency_ms = forms.IntegerField(required=False, min_value=1, label="Degraded above (ms)")
    # dns
    record_type = forms.ChoiceField(required=False, choices=[(t, t) for t in RECORD_TYPES])
    expected = forms.CharField(required=False, max_length=500, label="Expected answer")
    # heartbeat
    period = forms.IntegerField(required=False, min_value=10, label="Period (s)")
    cron = forms.CharField(required=False, max_length=100, label="Cron expression")
    tz = forms.CharField(required=False, max_length=64, label="Time zone", initial="UTC")
    grace = forms.IntegerField(required=False, min_value=0, initial=60, label="Grace (s)")

    KIND_FIELDS = {
        MonitorKind.HTTP: (
            "method",
            "expected_status",
            "body_contains",
            "tls_expiry_days",
            "degraded_latency_ms",
        ),
        MonitorKind.TCP: ("degraded_latency_ms",),
        MonitorKind.DNS: ("record_type", "expected"),
        MonitorKind.PING: ("degraded_latency_ms",),
        MonitorKind.HEARTBEAT: ("period", "cron", "tz", "grace"),
    }
    ASSERTION_FIELDS = {
        "method",
        "expected_status",
        "body_contains",
        "tls_expiry_days",
        "record_type",
        "expected",
        "period",
        "cron",
        "tz",
        "grace",
    }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")

    def clean_expected_status(self):
        raw = self.cleaned_data.get("expected_status") or ""
        codes = [part.strip() for part in raw.split(",") if part.strip()]
        if not all(code.isdigit() for code in codes):
            raise forms.ValidationError("Status codes separated by commas.")
        return [int(code) for code in codes]

    def service_values(self) -> dict:
        """The service's keyword arguments: the kind's fields folded into ``assertions``."""
        data = self.cleaned_data
        kind = data["kind"]
        assertions = {}
        for name in self.KIND_FIELDS[kind]:
            value = data.get(name)
            if name in self.ASSERTION_FIELDS and value not in (None, "", []):
                assertions[name] = value
        if kind == MonitorKind.HEARTBEAT and "cron" not in assertions:
            assertions.pop("tz", None)
        values = {
            k: data[k]
            for k in ("kind", "name", "target", "service", "interval_seconds", "down_after", "up_after")
        }
        if kind in (MonitorKind.HTTP, MonitorKind.TCP, MonitorKind.PING) and data.get("degraded_latency_ms"):
            values["degraded_latency_ms"] = data["degraded_latency_ms"]
        return {**values, "assertions": assertions}

    @property
    def kind_fields(self):
        """The bound fields this form's kind shows, common ones first."""
        kind = self.data.get("kind") or self.initial.get("kind")
        return [
            self[name]
            for name in (
                "name",
                "target",
                "service",
                "interval_seconds",
                "down_after",
                "up_after",
                *self.KIND_FIELDS[kind],
            )
        ]
