import re

from django import forms

from opsplatform.accounts.models import User
from opsplatform.core.actors import ActorKind

MAX_SEQUENCE = 2**63 - 1  # BIGINT
VERB_PATTERN = re.compile(r"^[a-z0-9_.\-]+\*?$")
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
]


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class LedgerFilterForm(forms.Form):
    """Filters of the audit log page; ``before``/``after`` are the keyset page cursors (sequences)."""

    actor = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Anyone", label="Person"
    )
    actor_type = forms.ChoiceField(
        choices=[("", "Any kind"), *ActorKind.choices], required=False, label="Actor kind"
    )
    verb = forms.CharField(
        required=False,
        max_length=64,
        help_text="An exact verb (member.removed), or a prefix ending in “.” or “*” (member.).",
    )
    target_type = forms.CharField(required=False, max_length=64, label="Target type")
    target_id = forms.CharField(required=False, max_length=64, label="Target id")
    since = _datetime_field("From (UTC)")
    until = _datetime_field("To (UTC)")
    before = forms.IntegerField(required=False, min_value=1, max_value=MAX_SEQUENCE, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, max_value=MAX_SEQUENCE, widget=forms.HiddenInput)

    CURSOR_FIELDS = ("before", "after")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this organization's members can be picked: another tenant's user is "not a valid choice".
        self.fields["actor"].queryset = User.objects.filter(memberships__organization=organization).order_by(
            "username"
        )

    def clean_verb(self):
        verb = self.cleaned_data["verb"].strip().lower()
        if verb and not VERB_PATTERN.match(verb):
            raise forms.ValidationError("Use letters, digits, “_”, “-” and “.”, optionally ending in “*”.")
        return verb

    def clean_target_type(self):
        return self.cleaned_data["target_type"].strip().lower()

    def clean_target_id(self):
        return self.cleaned_data["target_id"].strip()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "“To” must be later than “From”.")
        if cleaned.get("before") is not None and cleaned.get("after") is not None:
            raise forms.ValidationError("A page cannot be both before and after a position.")
        return cleaned

    def selector_filters(self) -> dict:
        """Keyword arguments for :func:`audit.selectors.ledger_entries` (call after ``is_valid()``)."""
        data = self.cleaned_data
        verb = data.get("verb", "")
        verb_filter = {"verb_prefix": verb.rstrip("*")} if verb.endswith((".", "*")) else {"verb": verb}
        return {
            "performed_by": data.get("actor"),
            "actor_type": data.get("actor_type", ""),
            "target_type": data.get("target_type", ""),
            "target_id": data.get("target_id", ""),
            "since": data.get("since"),
            "until": data.get("until"),
            **verb_filter,
        }
