"""Every write of postmortems: drafting and re-syncing from the ledger, revisions, action items
(workflows tasks), runbook verdicts, and the review (a run of the organization's
``postmortem_review`` workflow)."""

from .drafting import postmortem_draft, postmortem_resync
from .editing import action_item_add, postmortem_save
from .review import postmortem_review_event, postmortem_submit, reconcile_review
from .verdicts import runbook_verdicts_set

__all__ = [
    "action_item_add",
    "postmortem_draft",
    "postmortem_resync",
    "postmortem_review_event",
    "postmortem_save",
    "postmortem_submit",
    "reconcile_review",
    "runbook_verdicts_set",
]
