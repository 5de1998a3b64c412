"""Status page forms: the public subscribe form, and the operators' page, component, notice and webhook
forms."""

from __future__ import annotations

from django import forms

from incidents.models import Incident, MaintenanceWindow, Service
from monitoring.models import Monitor
from monitoring.statuspages.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    ComponentStatus,
    Impact,
    StatusComponent,
)
from opsplatform.core.widgets import CheckboxDropdown, SearchableSelect

NOT_OPERATIONAL = [
    (v, label) for v, label in ComponentStatus.choices if v not in ("operational", "under_maintenance")
]


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254, label="E-mail address")


class WebhookForm(forms.Form):
    # A plain text field: the service says why a URL cannot be used (shape, address) in one voice
    # for the page and the API.
    url = forms.CharField(
        max_length=2000,
        label="Endpoint URL",
        help_text="Receives a signed JSON POST for every update of this page's notices.",
    )
    description = forms.CharField(max_length=150, required=False, help_text="Whose endpoint this is.")


class PageForm(forms.Form):
    title = forms.CharField(max_length=150)
    slug = forms.SlugField(max_length=60, help_text="The public address: /status/<slug>/.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    custom_domain = forms.CharField(
        max_length=253, required=False, help_text="Optional, e.g. status.example.com."
    )
    published = forms.BooleanField(required=False, help_text="Unpublished pages answer 404 to the public.")
    subscriptions_enabled = forms.BooleanField(
        required=False, initial=True, label="Accept e-mail subscribers"
    )


class ComponentForm(forms.Form):
    name = forms.CharField(max_length=150)
    group = forms.CharField(
        max_length=100, required=False, help_text="Components of one group are shown together."
    )
    description = forms.CharField(max_length=500, required=False)
    monitors = forms.ModelMultipleChoiceField(
        queryset=Monitor.objects.none(), required=False, widget=CheckboxDropdown(empty_label="No monitors")
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=CheckboxDropdown(empty_label="No services"),
        help_text="Open incidents on these services affect the component.",
    )
    show_uptime = forms.BooleanField(required=False, initial=True, label="Show 90-day uptime")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["monitors"].queryset = Monitor.objects.for_organization(organization).order_by("name")
        self.fields["services"].queryset = Service.objects.for_organization(organization).order_by("name")


class _NoticeForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="Public: what customers see. Not the internal title.")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, label="Message")
    components = forms.ModelMultipleChoiceField(
        queryset=StatusComponent.objects.none(),
        required=False,
        widget=CheckboxDropdown(empty_label="No components"),
    )
    notify = forms.BooleanField(required=False, initial=True, label="Notify subscribers")

    def __init__(self, *args, page, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"].queryset = page.components.order_by("position", "name")


class IncidentNoticeForm(_NoticeForm):
    field_order = [
        "title",
        "status",
        "body",
        "components",
        "component_status",
        "impact",
        "incident",
        "notify",
    ]

    status = forms.ChoiceField(choices=[(s.value, s.label) for s in INCIDENT_STATUSES])
    component_status = forms.ChoiceField(
        choices=NOT_OPERATIONAL, initial=ComponentStatus.DEGRADED, label="Components are"
    )
    impact = forms.ChoiceField(choices=Impact.choices, initial=Impact.MINOR)
    incident = forms.ModelChoiceField(
        queryset=Incident.objects.none(),
        required=False,
        widget=SearchableSelect,
        help_text="The internal incident this speaks for (never shown publicly).",
    )

    def __init__(self, *args, page, **kwargs):
        super().__init__(*args, page=page, **kwargs)
        self.fields["incident"].queryset = Incident.objects.for_organization(page.organization).order_by(
            "-created_at"
        )[:200]


class MaintenanceNoticeForm(_NoticeForm):
    field_order = [
        "title",
        "scheduled_for",
        "scheduled_until",
        "body",
        "components",
        "maintenance_window",
        "notify",
    ]

    scheduled_for = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Starts", required=False
    )
    scheduled_until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Ends", required=False
    )
    maintenance_window = forms.ModelChoiceField(
        queryset=MaintenanceWindow.objects.none(),
        required=False,
        help_text="The window that keeps alerts quiet meanwhile (internal); a one-off window's times "
        "are taken when Starts and Ends are left empty.",
    )

    def __init__(self, *args, page, **kwargs):
        super().__init__(*args, page=page, **kwargs)
        self.fields["maintenance_window"].queryset = MaintenanceWindow.objects.for_organization(
            page.organization
        )


class UpdateForm(forms.Form):
    status = forms.ChoiceField(choices=[])
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Message")
    notify = forms.BooleanField(required=False, initial=True, label="Notify subscribers")

    def __init__(self, *args, notice, **kwargs):
        super().__init__(*args, **kwargs)
        statuses = INCIDENT_STATUSES if notice.kind == "incident" else MAINTENANCE_STATUSES
        self.fields["status"].choices = [(s.value, s.label) for s in statuses]
        self.fields["status"].initial = notice.status
