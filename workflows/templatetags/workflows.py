"""Template filters of the workflow pages: ledger entries as sentences, Markdown (sanitized)."""

from django import template
from django.utils.safestring import mark_safe

from opsplatform.core.markdown import render_markdown

register = template.Library()


@register.filter
def wf_markdown(text: str):
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitized by nh3 in render_markdown


@register.filter
def wf_entry(entry) -> str:
    """What a ledger entry of a run (or of one of its tasks) says."""
    data = entry.data or {}
    verb = entry.verb
    if verb.startswith("task."):
        return f"{verb.split('.', 1)[1]} task {data.get('title', '#' + entry.target_id)}"
    say = SENTENCES.get(verb)
    return say(data) if say else verb


SENTENCES = {
    "workflow.run.created": lambda d: f"started the run in {d.get('state', '')}",
    "workflow.run.transitioned": lambda d: f"{d.get('event', '')}: {d.get('from', '')} → {d.get('to', '')}",
    "workflow.approval.requested": lambda d: (
        f"asked for approval ({d.get('required')} of {len(d.get('approvers') or [])})"
    ),
    "workflow.approval.decided": lambda d: (
        f"{'approved' if d.get('verdict') == 'approve' else 'rejected'} "
        f"({d.get('received')} of {d.get('required')})"
    ),
    "workflow.approval.reminded": lambda d: "reminded the approvers",
    "workflow.approval.escalated": lambda d: "escalated the approval to the fallback approver",
    "workflow.approval.withdrawn": lambda d: "withdrew the approval request",
}
