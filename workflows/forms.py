"""Page forms: start a run, send an event, decide an approval, create a task. The services check
everything again; these shape the input and show errors next to the fields."""

from django import forms

from opsplatform.accounts.models import User
from workflows.models import TaskStatus, Verdict


def _field_inputs(form, spec, keys) -> None:
    for key in keys:
        form.fields[f"field_{key}"] = forms.CharField(
            label=spec.field_labels.get(key, key),
            required=False,
            max_length=10_000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )


def field_values(form, spec) -> dict:
    return {
        key: form.cleaned_data[f"field_{key}"]
        for key in spec.field_keys
        if form.cleaned_data.get(f"field_{key}") not in (None, "")
    }


class RunStartForm(forms.Form):
    title = forms.CharField(max_length=200)

    def __init__(self, *args, spec, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        _field_inputs(self, spec, spec.field_keys)

    def values(self) -> dict:
        return field_values(self, self.spec)


class EventForm(forms.Form):
    event = forms.CharField(max_length=48, widget=forms.HiddenInput)
    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, spec, required=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        _field_inputs(self, spec, required)

    def values(self) -> dict:
        return {
            key[len("field_") :]: value
            for key, value in self.cleaned_data.items()
            if key.startswith("field_") and value not in (None, "")
        }


class DecideForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.HiddenInput)
    comment = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown."
    )
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    due_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            memberships__organization=organization
        ).order_by("username")


class TaskStatusForm(forms.Form):
    status = forms.ChoiceField(choices=TaskStatus.choices)
