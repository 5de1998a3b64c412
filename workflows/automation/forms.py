"""The rule form: plain fields and the actions as JSON (their shape is in the help text and on
docs/workflows.md); the conditions have their own row editor (``condition_forms``). The service
validates everything again and its errors land on the fields."""

import json

from django import forms

from workflows.automation.models import Trigger

ACTIONS_HELP = (
    'A list, e.g. [{"type": "notify", "people": {"teams": [3]}, "message": "Payments down"}, '
    '{"type": "remediate", "retries": 3, "backoff_seconds": 30}]. Types: start_workflow, create_task, '
    "notify, set_severity, set_priority, add_responders, escalate, webhook, remediate. "
    'Add "risky": true to wait for an approval.'
)


class JSONText(forms.CharField):
    widget = forms.Textarea

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in ("", None):
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None


class RuleForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    trigger = forms.ChoiceField(choices=Trigger.choices)
    trigger_state = forms.CharField(
        max_length=48, required=False, label="Workflow state", help_text="For “workflow entered a state”."
    )
    trigger_workflow = forms.CharField(
        max_length=64, required=False, label="Workflow key", help_text="Optional: only this workflow."
    )
    actions = JSONText(help_text=ACTIONS_HELP, widget=forms.Textarea(attrs={"rows": 8}))
    once_per_incident = forms.BooleanField(required=False, help_text="Fire at most once for an incident.")
    enabled = forms.BooleanField(required=False, initial=True)

    @classmethod
    def for_rule(cls, rule, data=None):
        initial = {key: getattr(rule, key) for key in cls.base_fields}
        return cls(data, initial=initial)

    def values(self) -> dict:
        return dict(self.cleaned_data)


class BacktestForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=90, initial=7, label="Days of history")
