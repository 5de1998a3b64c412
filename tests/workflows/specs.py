"""Small specs the tests publish: one gate, required=1 or all, ending or sending back on rejection."""


def one_gate(
    *,
    rule="n_of_m",
    required=1,
    on_reject="end",
    roles=("manager", "admin"),
    users=(),
    fallback=None,
    timeout=60,
    remind=20,
):
    gate = {
        "approvers": {"roles": list(roles), "users": list(users)},
        "rule": rule,
        "required": required,
        "timeout_minutes": timeout,
        "remind_after_minutes": remind,
        "on_reject": on_reject,
        "end_state": "NO",
    }
    if fallback:
        gate["fallback"] = fallback
    return {
        "states": [
            {"key": "DRAFT", "initial": True},
            {"key": "WAIT"},
            {"key": "OK", "terminal": True},
            {"key": "NO", "terminal": True},
        ],
        "transitions": [
            {"from": "DRAFT", "event": "submit", "to": "WAIT"},
            {"from": "WAIT", "event": "approve", "to": "OK", "gate": gate},
        ],
    }
