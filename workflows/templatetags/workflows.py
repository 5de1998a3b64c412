"""Template filters of the workflow pages: ledger entries as sentences, Markdown (sanitized)."""

from django import template
from django.utils.safestring import mark_safe

from opsplatform.core.markdown import render_markdown

register = template.Library()


@register.filter
def wf_markdown(text: str):
    return mark_safe(render_markdown(text))  # sanitized by nh3 in render_markdown


@register.filter
def wf_entry(entry) -> str:
    """What a ledger entry of a run (or of one of its tasks) says."""
    data = entry.data or {}
    verb = entry.verb
    if verb == "workflow.run.created":
        return f"started the run in {data.get('state', '')}"
    if verb == "workflow.run.transitioned":
        return f"{data.get('event', '')}: {data.get('from', '')} → {data.get('to', '')}"
    if verb == "workflow.approval.requested":
        return f"asked for approval ({data.get('required')} of {len(data.get('approvers') or [])})"
    if verb == "workflow.approval.decided":
        word = "approved" if data.get("verdict") == "approve" else "rejected"
        return f"{word} ({data.get('received')} of {data.get('required')})"
    if verb == "workflow.approval.reminded":
        return "reminded the approvers"
    if verb == "workflow.approval.escalated":
        return "escalated the approval to the fallback approver"
    if verb == "workflow.approval.withdrawn":
        return "withdrew the approval request"
    if verb.startswith("task."):
        return f"{verb.split('.', 1)[1]} task {data.get('title', '#' + entry.target_id)}"
    return verb
