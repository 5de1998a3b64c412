"""The built-in templates every organization starts with (editable: editing publishes a new version).

Plain data, so the data migration that installs them for existing organizations can use it too.
"""

CHANGE_REQUEST = "change_request"
INCIDENT_PLAYBOOK = "incident_playbook"
POSTMORTEM_REVIEW = "postmortem_review"

_RUN = {"capability": "workflow.run"}

CHANGE_REQUEST_SPEC = {
    "fields": [
        {"key": "summary", "label": "What changes"},
        {"key": "plan", "label": "Plan", "help": "The steps, in order."},
        {"key": "rollback_plan", "label": "Rollback plan"},
        {"key": "window", "label": "Change window"},
        {"key": "outcome", "label": "Outcome"},
    ],
    "states": [
        {"key": "CREATED", "label": "Created", "initial": True},
        {"key": "PENDING_APPROVAL", "label": "Pending approval"},
        {"key": "APPROVED", "label": "Approved"},
        {"key": "IN_PROGRESS", "label": "In progress"},
        {"key": "COMPLETED", "label": "Completed", "terminal": True},
        {"key": "REJECTED", "label": "Rejected", "terminal": True},
        {"key": "CANCELLED", "label": "Cancelled", "terminal": True},
    ],
    "transitions": [
        {
            "from": "CREATED",
            "event": "submit",
            "to": "PENDING_APPROVAL",
            "label": "Submit for approval",
            "guard": {**_RUN, "required_fields": ["plan", "rollback_plan"]},
        },
        {
            "from": "PENDING_APPROVAL",
            "event": "approve",
            "to": "APPROVED",
            "label": "Approve",
            "gate": {
                "approvers": {"roles": ["manager", "admin", "owner"]},
                "rule": "n_of_m",
                "required": 2,
                "timeout_minutes": 240,
                "remind_after_minutes": 60,
                "fallback": {"roles": ["owner"]},
                "on_reject": "end",
                "end_state": "REJECTED",
            },
        },
        {
            "from": "PENDING_APPROVAL",
            "event": "withdraw",
            "to": "CREATED",
            "label": "Withdraw",
            "guard": _RUN,
        },
        {
            "from": "APPROVED",
            "event": "start",
            "to": "IN_PROGRESS",
            "label": "Start the change",
            "guard": _RUN,
        },
        {
            "from": "IN_PROGRESS",
            "event": "complete",
            "to": "COMPLETED",
            "label": "Complete",
            "guard": {**_RUN, "required_fields": ["outcome"]},
        },
        {"from": "CREATED", "event": "cancel", "to": "CANCELLED", "label": "Cancel", "guard": _RUN},
        {"from": "PENDING_APPROVAL", "event": "cancel", "to": "CANCELLED", "label": "Cancel", "guard": _RUN},
        # Calling off an approved change is a manager's decision: someone signed off on it.
        {
            "from": "APPROVED",
            "event": "cancel",
            "to": "CANCELLED",
            "label": "Cancel",
            "guard": {**_RUN, "role": "manager"},
        },
    ],
}

INCIDENT_PLAYBOOK_SPEC = {
    "states": [
        {"key": "ACTIVE", "label": "Active", "initial": True},
        {"key": "STABILIZED", "label": "Stabilized"},
        {"key": "DONE", "label": "Done", "terminal": True},
        {"key": "CANCELLED", "label": "Cancelled", "terminal": True},
    ],
    "transitions": [
        {
            "from": "ACTIVE",
            "event": "stabilize",
            "to": "STABILIZED",
            "label": "Mark stabilized",
            "guard": _RUN,
        },
        {"from": "STABILIZED", "event": "finish", "to": "DONE", "label": "Finish", "guard": _RUN},
        {"from": "ACTIVE", "event": "cancel", "to": "CANCELLED", "label": "Cancel", "guard": _RUN},
    ],
    "tasks": [
        {"title": "Assign an incident commander", "due_minutes": 5},
        {"title": "Open a bridge and post its link on the incident", "due_minutes": 10},
        {"title": "Post a first status update for stakeholders", "due_minutes": 30},
        {"title": "Identify the blast radius (services, customers, regions)", "due_minutes": 30},
        {"title": "Decide on rollback or mitigation", "due_minutes": 60},
    ],
}

POSTMORTEM_REVIEW_SPEC = {
    "states": [
        {"key": "DRAFT", "label": "Draft", "initial": True},
        {"key": "IN_REVIEW", "label": "In review"},
        {"key": "PUBLISHED", "label": "Published", "terminal": True},
        {"key": "ABANDONED", "label": "Abandoned", "terminal": True},
    ],
    "transitions": [
        {
            "from": "DRAFT",
            "event": "request_review",
            "to": "IN_REVIEW",
            "label": "Request review",
            "guard": _RUN,
        },
        {
            "from": "IN_REVIEW",
            "event": "request_changes",
            "to": "DRAFT",
            "label": "Request changes",
            "guard": _RUN,
        },
        # Publishing is signed off by a manager other than the one who asked for the review; a
        # rejection sends the postmortem back to its authors.
        {
            "from": "IN_REVIEW",
            "event": "publish",
            "to": "PUBLISHED",
            "label": "Publish",
            "gate": {
                "approvers": {"roles": ["manager", "admin", "owner"]},
                "rule": "n_of_m",
                "required": 1,
                "timeout_minutes": 2880,
                "remind_after_minutes": 1440,
                "fallback": {"roles": ["owner"]},
                "on_reject": "back_to:DRAFT",
            },
        },
        {"from": "DRAFT", "event": "abandon", "to": "ABANDONED", "label": "Abandon", "guard": _RUN},
    ],
}

BUILTINS = {
    CHANGE_REQUEST: (
        "Change request",
        "A planned change to production: submitted, signed off by two managers, carried out, closed.",
        CHANGE_REQUEST_SPEC,
    ),
    INCIDENT_PLAYBOOK: (
        "Incident response playbook",
        "Started for every SEV1 and SEV2 incident: the checklist of first-hour tasks.",
        INCIDENT_PLAYBOOK_SPEC,
    ),
    POSTMORTEM_REVIEW: (
        "Postmortem review",
        "A postmortem from draft through review to publication.",
        POSTMORTEM_REVIEW_SPEC,
    ),
}

#: incident severities whose opening starts the playbook
PLAYBOOK_SEVERITIES = ("sev1", "sev2")
