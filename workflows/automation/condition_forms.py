"""The rule page's conditions editor: rows of matchers (group, field, operator, value, negate) and
how each group and the rule combine them, instead of JSON. ``ConditionsEditor.value()`` builds the
conditions the service validates again (``spec.clean_conditions``); a row's own mistakes (a label
field without its name, a regular expression that does not compile) are errors on that row."""

import re

from django import forms

from incidents.ingest.matching import OPS, PLAIN_FIELDS
from workflows.automation.spec import EXTRA_FIELDS, MAX_GROUPS

LABEL_FIELD = "labels"
FIELD_CHOICES = [
    ("", "—"),
    *((f, f.replace("_", " ").capitalize()) for f in (*EXTRA_FIELDS, *PLAIN_FIELDS)),
    (LABEL_FIELD, "Label…"),
]
MODE_CHOICES = [("all", "all"), ("any", "any")]
LABEL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,100}$")
MAX_ROWS = 100


class MatcherRow(forms.Form):
    group = forms.TypedChoiceField(
        choices=[(i, f"Group {i}") for i in range(1, MAX_GROUPS + 1)], coerce=int, initial=1
    )
    field = forms.ChoiceField(choices=FIELD_CHOICES, required=False)
    label = forms.CharField(max_length=100, required=False, help_text="The label's name.")
    op = forms.ChoiceField(label="Operator", choices=[(op, op) for op in OPS], initial="equals")
    value = forms.CharField(max_length=500, required=False)
    negate = forms.BooleanField(label="Not", required=False)

    def clean(self):
        data = super().clean()
        if not data.get("field"):
            return data
        if data["field"] == LABEL_FIELD and not LABEL_NAME.match(data.get("label") or ""):
            self.add_error("label", "Name the label: letters, digits, _ . - or /.")
        if data.get("op") == "regex":
            try:
                re.compile(data.get("value") or "")
            except re.error as exc:
                self.add_error("value", f"Not a regular expression: {exc}.")
        return data

    def matcher(self) -> dict | None:
        data = self.cleaned_data
        if not data or data.get("DELETE") or not data.get("field"):
            return None
        field = f"labels.{data['label']}" if data["field"] == LABEL_FIELD else data["field"]
        matcher = {"field": field, "op": data["op"]}
        if data["op"] != "exists":
            matcher["value"] = data.get("value") or ""
        if data.get("negate"):
            matcher["negate"] = True
        return matcher


MatcherRows = forms.formset_factory(
    MatcherRow, extra=2, max_num=MAX_ROWS, absolute_max=MAX_ROWS, can_delete=True
)


class ConditionModes(forms.Form):
    match = forms.ChoiceField(choices=MODE_CHOICES, initial="all", label="The rule fires when it matches")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(1, MAX_GROUPS + 1):
            self.fields[f"group_{i}"] = forms.ChoiceField(
                choices=MODE_CHOICES, required=False, label=f"Group {i} needs"
            )


def _row(matcher: dict, group: int) -> dict:
    field = matcher.get("field", "")
    label = ""
    if field.startswith("labels."):
        field, label = LABEL_FIELD, field[len("labels.") :]
    return {
        "group": group,
        "field": field,
        "label": label,
        "op": matcher.get("op", "equals"),
        "value": matcher.get("value", ""),
        "negate": bool(matcher.get("negate")),
    }


class ConditionsEditor:
    """Both forms of the editor, bound or showing ``conditions`` (a stored rule's)."""

    # No field of this object takes a service error by name: those land on the rule form as a whole.
    fields: dict = {}

    def __init__(self, data=None, *, conditions: dict | None = None):
        conditions = conditions or {}
        groups = conditions.get("groups", [])
        modes = {"match": conditions.get("match", "all")}
        rows = []
        for i, group in enumerate(groups, start=1):
            modes[f"group_{i}"] = group.get("match", "all")
            rows += [_row(m, i) for m in group.get("matchers", [])]
        # Bound, the posted rows alone count: initial rows would make a row equal to its initial
        # one look "unchanged" (an empty extra form) and drop it.
        bound = data is not None
        self.modes = ConditionModes(data, prefix="conditions", initial=None if bound else modes)
        self.rows = MatcherRows(data, prefix="matchers", initial=None if bound else rows)
        self.groups_shown = min(MAX_GROUPS, max(len(groups) + 1, 3))

    def is_valid(self) -> bool:
        return all([self.modes.is_valid(), self.rows.is_valid()])

    def group_fields(self):
        return [self.modes[f"group_{i}"] for i in range(1, self.groups_shown + 1)]

    def value(self) -> dict:
        """The conditions: groups numbered as the rows say, empty groups dropped, in number order."""
        by_group: dict[int, list] = {}
        for form in self.rows.forms:
            if (matcher := form.matcher()) is not None:
                by_group.setdefault(form.cleaned_data["group"], []).append(matcher)
        groups = [
            {"match": self.modes.cleaned_data.get(f"group_{n}") or "all", "matchers": matchers}
            for n, matchers in sorted(by_group.items())
        ]
        return {"match": self.modes.cleaned_data["match"], "groups": groups}
