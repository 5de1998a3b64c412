"""What the rule page's form posts: its fields, and the conditions editor's rows as a browser sends them."""


def rule_post(*, rows=(), match="all", groups=None, **fields) -> dict:
    """``rows``: dicts of a matcher row (group, field, label, op, value, negate); ``groups``: {n: mode}."""
    data = {
        "matchers-TOTAL_FORMS": str(len(rows)),
        "matchers-INITIAL_FORMS": "0",
        "conditions-match": match,
        **fields,
    }
    for n, mode in (groups or {}).items():
        data[f"conditions-group_{n}"] = mode
    for i, row in enumerate(rows):
        for key, value in {"group": 1, "op": "equals", **row}.items():
            if key == "negate":
                if value:
                    data[f"matchers-{i}-negate"] = "on"
            else:
                data[f"matchers-{i}-{key}"] = str(value)
    return data
