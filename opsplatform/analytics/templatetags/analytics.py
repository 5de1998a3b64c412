from django import template

from opsplatform.core.charts import NO_VALUE, format_value
from opsplatform.core.timefmt import short_duration

register = template.Library()


@register.filter
def cell(row: dict, column):
    """A table cell as the page shows it: durations and shares readable, counts with separators."""
    value = row.get(column.key)
    if value is None:
        return NO_VALUE
    if column.kind == "text":
        return value
    if column.kind == "duration":
        return short_duration(round(value))
    if column.kind == "ratio":
        return format_value(value, "ratio")
    if column.kind == "number":
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,}"


@register.filter
def figure(row: dict, key: str):
    """A summary figure by its key (its kind follows from the key's suffix)."""
    kind = (
        "duration"
        if key.endswith("_seconds")
        else "ratio"
        if key.endswith(("_compliance", "_rate"))
        else "count"
    )
    return cell(row, _Column(key, kind))


class _Column:
    def __init__(self, key, kind):
        self.key, self.kind = key, kind
