"""Forms of the On-call and notifications pages. They validate shape only; services do every write
and the real checks.

Date-times on schedule forms are entered in the team's time zone: views bind and validate them inside
``timezone.override(team zone)`` (see ``views.schedules``), which is also how Django reports a time
that does not exist or happens twice on a daylight-saving day.
"""

from django import forms

from incidents.models import Service
from notifications.models import Channel, ChannelKind, ContactKind, RotationKind, Schedule
from opsplatform.accounts.models import Team, User
from opsplatform.core.widgets import SearchableSelect

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
LOCAL_DATETIME = {"type": "datetime-local"}
LOCAL_DATETIME_FORMAT = "%Y-%m-%dT%H:%M"  # what the browser's datetime-local input reads back


def local_datetime_input():
    return forms.DateTimeInput(attrs=LOCAL_DATETIME, format=LOCAL_DATETIME_FORMAT)


def members_of(organization):
    return User.objects.filter(memberships__organization=organization, is_active=True).order_by("username")


class _OrgForm(forms.Form):
    def __init__(self, *args, organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)


class ScheduleForm(_OrgForm):
    name = forms.CharField(max_length=150)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), help_text="Shifts follow this team's time zone."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_organization(self.organization).order_by("name")


class LayerForm(_OrgForm):
    name = forms.CharField(max_length=100, initial="Primary")
    participants = forms.CharField(
        max_length=2000,
        help_text="Usernames in rotation order, separated by commas.",
        widget=forms.TextInput(attrs={"list": "member-usernames", "autocomplete": "off"}),
    )
    rotation = forms.ChoiceField(choices=RotationKind.choices, initial=RotationKind.WEEKLY)
    shift_hours = forms.IntegerField(
        required=False, min_value=1, max_value=672, help_text="Every N hours only."
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    handoff_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), initial="09:00")
    priority = forms.IntegerField(
        required=False, min_value=0, max_value=100, help_text="Higher layers win; empty puts it on top."
    )
    restricted = forms.BooleanField(required=False, label="Only on certain days and hours")
    restriction_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    restriction_start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    restriction_end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def clean_participants(self):
        names = [
            n.strip() for n in self.cleaned_data["participants"].replace("\n", ",").split(",") if n.strip()
        ]
        users = {u.username: u for u in members_of(self.organization).filter(username__in=names)}
        unknown = [n for n in names if n not in users]
        if unknown:
            raise forms.ValidationError(f"Not members of this organization: {', '.join(unknown)}.")
        return [users[n] for n in dict.fromkeys(names)]

    def clean(self):
        data = super().clean()
        if data.get("restricted"):
            if not data.get("restriction_days"):
                self.add_error("restriction_days", "Pick the days the layer is active.")
            if not data.get("restriction_start") or not data.get("restriction_end"):
                self.add_error("restriction_start", "Give the hours the layer is active.")
        return data

    def restrictions(self) -> list[dict]:
        data = self.cleaned_data
        if not data.get("restricted"):
            return []
        return [
            {
                "days": data["restriction_days"],
                "start": data["restriction_start"].strftime("%H:%M"),
                "end": data["restriction_end"].strftime("%H:%M"),
            }
        ]

    @classmethod
    def initial_for(cls, layer) -> dict:
        first = (layer.restrictions or [None])[0]
        return {
            "name": layer.name,
            "participants": ", ".join(p.user.username for p in layer.participants.select_related("user")),
            "rotation": layer.rotation,
            "shift_hours": layer.shift_hours,
            "start_date": layer.start_date,
            "handoff_time": layer.handoff_time,
            "priority": layer.priority,
            "restricted": bool(first),
            "restriction_days": first["days"] if first else [],
            "restriction_start": first["start"] if first else None,
            "restriction_end": first["end"] if first else None,
        }


class OverrideForm(_OrgForm):
    prefix = "override"  # shares the schedule page with the swap form
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Who is on call", widget=SearchableSelect
    )
    replaces = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=SearchableSelect,
        label="Covering for",
        help_text="Empty: on call for the whole time, whoever the rota says.",
    )
    starts_at = forms.DateTimeField(widget=local_datetime_input(), label="From")
    ends_at = forms.DateTimeField(widget=local_datetime_input(), label="Until")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        members = members_of(self.organization)
        self.fields["user"].queryset = members
        self.fields["replaces"].queryset = members
        for name in ("user", "replaces"):
            self.fields[name].label_from_instance = lambda u: u.username


class SwapForm(_OrgForm):
    prefix = "swap"
    first_user = forms.ModelChoiceField(queryset=User.objects.none(), label="Person", widget=SearchableSelect)
    second_user = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Trades with", widget=SearchableSelect
    )
    starts_at = forms.DateTimeField(widget=local_datetime_input(), label="From")
    ends_at = forms.DateTimeField(widget=local_datetime_input(), label="Until")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        members = members_of(self.organization)
        for name in ("first_user", "second_user"):
            self.fields[name].queryset = members
            self.fields[name].label_from_instance = lambda u: u.username


class PolicyForm(_OrgForm):
    name = forms.CharField(max_length=150)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Owning team")
    repeat_count = forms.IntegerField(
        min_value=0, max_value=9, initial=0, label="Repeat", help_text="Run all steps again this many times."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_organization(self.organization).order_by("name")


class StepForm(_OrgForm):
    delay_minutes = forms.IntegerField(
        min_value=1, max_value=1440, initial=15, label="Minutes before the next step"
    )
    round_robin = forms.BooleanField(required=False, help_text="Notify one target per run, taking turns.")
    schedules = forms.ModelMultipleChoiceField(
        queryset=Schedule.objects.none(), required=False, label="On call in"
    )
    users = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False, label="People")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.none(), required=False, label="Whole teams")
    channels = forms.ModelMultipleChoiceField(queryset=Channel.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        org = self.organization
        self.fields["schedules"].queryset = Schedule.objects.for_organization(org).order_by("name")
        self.fields["users"].queryset = members_of(org)
        self.fields["users"].label_from_instance = lambda u: u.username
        self.fields["teams"].queryset = Team.objects.for_organization(org).order_by("name")
        self.fields["channels"].queryset = Channel.objects.for_organization(org).order_by("name")

    def targets(self) -> list[tuple[str, object]]:
        data = self.cleaned_data
        return [
            *(("schedule", s) for s in data["schedules"]),
            *(("user", u) for u in data["users"]),
            *(("team", t) for t in data["teams"]),
            *(("channel", c) for c in data["channels"]),
        ]

    def clean(self):
        data = super().clean()
        if not self.errors and not self.targets():
            raise forms.ValidationError("Pick at least one schedule, person, team or channel.")
        return data


class AttachForm(_OrgForm):
    services = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    default_for_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Default for teams",
        help_text="Incidents of these teams whose service has no policy use this one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.for_organization(self.organization).order_by(
            "name"
        )
        self.fields["default_for_teams"].queryset = Team.objects.for_organization(self.organization).order_by(
            "name"
        )


def _split_lines(value: str) -> list[str]:
    return [item.strip() for item in (value or "").replace(",", "\n").splitlines() if item.strip()]


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ChannelKind.choices)
    url = forms.CharField(
        max_length=2000,
        required=False,
        label="Webhook URL",
        help_text="Slack, Teams and webhook channels. Stored encrypted and never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses (e-mail) or +E.164 numbers (Twilio), one per line.",
    )
    account_sid = forms.CharField(max_length=64, required=False, label="Twilio account SID")
    auth_token = forms.CharField(
        max_length=200,
        required=False,
        label="Twilio auth token",
        help_text="Stored encrypted and never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    from_number = forms.CharField(max_length=32, required=False, label="Twilio sender number")

    def clean_recipients(self):
        return _split_lines(self.cleaned_data["recipients"])


class ChannelEditForm(ChannelForm):
    is_active = forms.BooleanField(required=False, label="Active")

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["kind"]
        self.fields["url"].help_text = "Leave empty to keep the stored URL."
        self.fields["auth_token"].help_text = "Leave empty to keep the stored token."
        self.kind = kind


class ContactForm(forms.Form):
    # Browser push is turned on from the browser (it needs the subscription's keys), not typed in.
    kind = forms.ChoiceField(choices=[c for c in ContactKind.choices if c[0] != ContactKind.WEB_PUSH])
    address = forms.CharField(
        max_length=500, help_text="E-mail address, +E.164 phone number, Slack member id (U…) or webhook URL."
    )
    label = forms.CharField(max_length=100, required=False)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, widget=forms.TextInput(attrs={"inputmode": "numeric"}))


class RuleForm(forms.Form):
    contact_method = forms.ModelChoiceField(queryset=None, label="Contact")
    delay_minutes = forms.IntegerField(
        min_value=0, max_value=1440, initial=0, label="After minutes unacknowledged"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_method"].queryset = user.contact_methods.filter(verified_at__isnull=False)
