"""Form widgets of the design system: filter chips, checkbox dropdowns and searchable selects.

Native multi-selects are hard to use (ctrl-click, no summary); these keep plain form semantics —
every choice is a checkbox with the field's name — so filters round-trip through the URL."""

from django import forms


class Chips(forms.CheckboxSelectMultiple):
    """A few choices shown at once as toggles (status, severity)."""

    template_name = "components/widgets/chips.html"


class CheckboxDropdown(forms.CheckboxSelectMultiple):
    """Many choices behind a toggle that summarises what is chosen (services, teams, people)."""

    template_name = "components/widgets/checkbox_dropdown.html"

    def __init__(self, attrs=None, choices=(), empty_label="Any", searchable=None):
        super().__init__(attrs, choices)
        self.empty_label = empty_label
        self.searchable = searchable

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        chosen = [
            str(option["label"])
            for _group, options, _index in context["widget"]["optgroups"]
            for option in options
            if option["selected"]
        ]
        if not chosen:
            summary = self.empty_label
        elif len(chosen) <= 2:
            summary = ", ".join(chosen)
        else:
            summary = f"{chosen[0]} +{len(chosen) - 1}"
        count = sum(len(options) for _group, options, _index in context["widget"]["optgroups"])
        context["widget"].update(
            summary=summary,
            empty_label=self.empty_label,
            searchable=self.searchable if self.searchable is not None else count > 8,
        )
        return context


class SearchableSelect(forms.Select):
    """A long single choice (time zones, people): app.js adds a filter box above the select."""

    def __init__(self, attrs=None, choices=()):
        attrs = {**(attrs or {}), "data-searchable": ""}
        super().__init__(attrs, choices)
