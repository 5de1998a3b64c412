"""The definition editor's forms: rows of states and of transitions with their guards (formsets),
and the spec's other parts (fields, tasks, approval gates) as JSON. ``spec_from`` turns valid rows
into a spec; ``workflows.spec.parse`` (in the service) then checks the machine, and its problems come
back as form errors. Nothing here writes."""

import json

from django import forms
from django.core.exceptions import ValidationError

from opsplatform.core.capabilities import MINIMUM_ROLE, Role

MAX_ROWS = 200


class StateRow(forms.Form):
    key = forms.CharField(max_length=48, required=False)
    label = forms.CharField(max_length=100, required=False)
    initial = forms.BooleanField(required=False)
    terminal = forms.BooleanField(required=False)


def _json_field(label, help_text):
    return forms.CharField(
        label=label,
        required=False,
        max_length=50_000,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )


class TransitionRow(forms.Form):
    source = forms.CharField(label="From", max_length=48, required=False)
    event = forms.CharField(max_length=48, required=False)
    target = forms.CharField(label="To", max_length=48, required=False)
    label = forms.CharField(max_length=100, required=False)
    capability = forms.ChoiceField(
        choices=[("", "workflow.run (default)"), *((c, c) for c in sorted(MINIMUM_ROLE))], required=False
    )
    role = forms.ChoiceField(choices=[("", "any"), *Role.choices], required=False)
    required_fields = forms.CharField(
        max_length=1000, required=False, help_text="Field keys, separated by commas."
    )
    gate = _json_field("Approval gate", "JSON, empty for none (see docs/workflows.md).")

    def clean_gate(self):
        return _parse_json(self.cleaned_data["gate"], dict, "an object")


class SpecExtras(forms.Form):
    fields = _json_field("Fields", "JSON list of {key, label, help}; empty for none.")
    tasks = _json_field("Tasks created with every run", "JSON list of {title, description, due_minutes}.")

    def clean_fields(self):
        return _parse_json(self.cleaned_data["fields"], list, "a list")

    def clean_tasks(self):
        return _parse_json(self.cleaned_data["tasks"], list, "a list")


def _parse_json(text, kind, name):
    if not (text or "").strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from None
    if not isinstance(value, kind):
        raise ValidationError(f"Must be {name}.")
    return value


StateRows = forms.formset_factory(StateRow, extra=2, max_num=40, absolute_max=MAX_ROWS, can_delete=True)
TransitionRows = forms.formset_factory(
    TransitionRow, extra=2, max_num=MAX_ROWS, absolute_max=MAX_ROWS, can_delete=True
)


def initial_rows(raw: dict) -> tuple[list, list, dict]:
    """The rows and extras that show the stored spec ``raw``."""
    states = [
        {
            "key": s["key"],
            "label": s.get("label", ""),
            "initial": s.get("initial", False),
            "terminal": s.get("terminal", False),
        }
        for s in raw.get("states", [])
    ]
    transitions = []
    for t in raw.get("transitions", []):
        guard = t.get("guard", {})
        transitions.append(
            {
                "source": t["from"],
                "event": t["event"],
                "target": t["to"],
                "label": t.get("label", ""),
                "capability": guard.get("capability", ""),
                "role": guard.get("role", ""),
                "required_fields": ", ".join(guard.get("required_fields", [])),
                "gate": json.dumps(t["gate"], indent=1) if "gate" in t else "",
            }
        )
    extras = {
        "fields": json.dumps(raw["fields"], indent=1) if raw.get("fields") else "",
        "tasks": json.dumps(raw["tasks"], indent=1) if raw.get("tasks") else "",
    }
    return states, transitions, extras


def _kept(formset):
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        yield data


def _state(row) -> dict | None:
    if not row["key"].strip():
        return None
    state = {"key": row["key"].strip()}
    if row["label"].strip():
        state["label"] = row["label"].strip()
    state.update({flag: True for flag in ("initial", "terminal") if row[flag]})
    return state


def _transition(row) -> dict | None:
    if not (row["source"].strip() or row["event"].strip() or row["target"].strip()):
        return None
    transition = {"from": row["source"].strip(), "event": row["event"].strip(), "to": row["target"].strip()}
    if row["label"].strip():
        transition["label"] = row["label"].strip()
    required = [f.strip() for f in row["required_fields"].split(",") if f.strip()]
    guard = {"capability": row["capability"], "role": row["role"], "required_fields": required}
    guard = {key: value for key, value in guard.items() if value}
    if guard:
        transition["guard"] = guard
    if row["gate"] is not None:
        transition["gate"] = row["gate"]
    return transition


def spec_from(states: forms.BaseFormSet, transitions: forms.BaseFormSet, extras: SpecExtras) -> dict:
    """The spec the valid rows describe; rows left blank (no key, no event) are skipped."""
    spec = {
        "states": [s for s in map(_state, _kept(states)) if s],
        "transitions": [t for t in map(_transition, _kept(transitions)) if t],
    }
    for part in ("fields", "tasks"):
        if extras.cleaned_data.get(part):
            spec[part] = extras.cleaned_data[part]
    return spec
