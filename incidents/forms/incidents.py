from datetime import timedelta

from django import forms
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Incident, Priority, Service, Severity, Status, Tier
from incidents.selectors import SLA_FILTERS, SORTS
from opsplatform.accounts.models import Team, User
from opsplatform.core.widgets import CheckboxDropdown, Chips, SearchableSelect


def _members(organization):
    return User.objects.filter(memberships__organization=organization).order_by("username")


class QueryFlag(forms.CheckboxInput):
    """A checkbox that also reads API-style flags: ``open=0`` / ``false`` / ``no`` mean off."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        return value is not None and str(value).strip().lower() not in ("", "0", "false", "no", "off")


SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "severity": "Severity",
    "updated": "Recently updated",
}


class BlankTolerantMultipleChoice(forms.MultipleChoiceField):
    """The page's filter form always sends an empty ``status=`` beside the ticked chips, so "no
    chip ticked" (every status) is told apart from "no status in the URL" (the open default)."""

    def to_python(self, value):
        return [v for v in super().to_python(value) if v != ""]


class IncidentFilterForm(forms.Form):
    """The list's filters; the page and the API both validate query strings with it. Service, team
    and assignee take several values (``?service=1&service=2``); one value works as before."""

    status = BlankTolerantMultipleChoice(choices=Status.choices, required=False, widget=Chips)
    severity = forms.MultipleChoiceField(choices=Severity.choices, required=False, widget=Chips)
    service = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(), required=False, widget=CheckboxDropdown(empty_label="All services")
    )
    team = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(), required=False, widget=CheckboxDropdown(empty_label="All teams")
    )
    assignee = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=CheckboxDropdown(empty_label="Anyone")
    )
    sla = forms.ChoiceField(
        choices=[("", "Any SLA"), *[(k, k.replace("_", " ")) for k in SLA_FILTERS]], required=False
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Title, #id or dedup key"}),
    )
    sort = forms.ChoiceField(choices=[(k, SORT_LABELS.get(k, k)) for k in SORTS], required=False)
    open = forms.BooleanField(required=False, label="Open only", widget=QueryFlag)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")
        self.fields["team"].queryset = Team.objects.for_organization(organization).order_by("name")
        self.fields["assignee"].queryset = _members(organization)

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data["status"],
            "severity": data["severity"],
            "service": list(data["service"]),
            "team": list(data["team"]),
            "assignee": list(data["assignee"]),
            "sla": data["sla"],
            "q": data["q"],
            "sort": data["sort"] or "newest",
            "open_only": data["open"],
        }


def page_filter_data(query):
    """The list page's query: without any ``status`` in the URL it shows the open incidents, and
    says so by ticking their chips; ``?status=`` (nothing ticked) shows every status."""
    data = query.copy()
    if "status" not in data and not data.get("open"):
        data.setlist("status", [str(s) for s in OPEN_STATUSES])
    return data


class IncidentCreateForm(forms.Form):
    title = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, widget=SearchableSelect, empty_label="No service"
    )
    severity = forms.ChoiceField(choices=[("", "Service default"), *Severity.choices], required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.P3)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.for_organization(organization).order_by("name")


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=10_000)


SNOOZE_CHOICES = [("15", "15 minutes"), ("60", "1 hour"), ("240", "4 hours"), ("1440", "24 hours")]


class SnoozeForm(forms.Form):
    minutes = forms.TypedChoiceField(
        choices=SNOOZE_CHOICES, coerce=int, initial="60", widget=forms.RadioSelect, label="Snooze for"
    )

    def until(self):
        return timezone.now() + timedelta(minutes=self.cleaned_data["minutes"])


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)


class FieldsForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    priority = forms.ChoiceField(choices=Priority.choices)


class PeopleForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=CheckboxDropdown(empty_label="Nobody")
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = _members(organization)


class MergeForm(forms.Form):
    source = forms.IntegerField(min_value=1, label="Merge incident #")

    def __init__(self, *args, organization, target, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization, self.target = organization, target

    def clean_source(self):
        try:
            return Incident.objects.for_organization(self.organization).get(pk=self.cleaned_data["source"])
        except Incident.DoesNotExist:
            raise forms.ValidationError("No such incident in this organization.") from None


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    tier = forms.ChoiceField(choices=Tier.choices)
    owner_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    default_severity = forms.ChoiceField(choices=Severity.choices)
    in_maintenance = forms.BooleanField(required=False)
    runbook_links = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line: Title | https://…",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_team"].queryset = Team.objects.for_organization(organization).order_by("name")

    def clean_runbook_links(self):
        links = []
        for line in self.cleaned_data["runbook_links"].splitlines():
            if not line.strip():
                continue
            title, _, url = line.rpartition("|")
            url = url.strip()
            if not url.startswith(("http://", "https://")):
                raise forms.ValidationError(f"Not a web address: {url!r}.")
            links.append({"title": title.strip() or url, "url": url})
        return links
