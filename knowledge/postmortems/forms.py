"""Page forms: the edit form (every section, the base revision it started from) and an action item."""

from django import forms

from opsplatform.accounts.models import User

from .models import SECTIONS


class PostmortemForm(forms.Form):
    base_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    title = forms.CharField(max_length=200)
    message = forms.CharField(max_length=200, required=False, help_text="What this revision changes.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in SECTIONS:
            self.fields[key] = forms.CharField(
                label=label, required=False, max_length=50_000, widget=forms.Textarea(attrs={"rows": 5})
            )
        self.order_fields(["base_revision", "title", *(key for key, _ in SECTIONS), "message"])


class ActionItemForm(forms.Form):
    title = forms.CharField(max_length=200)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="Owner")
    due_at = forms.DateTimeField(required=False, label="Due", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(
            memberships__organization=organization
        ).order_by("username")
