"""Data retention page: every kind of data, its retention (deployment default, bounds, this
organization's setting) and its last run; archived ledger spans and their checkpoints. Managers
read it; admins change the organization's settings (``retention_set``)."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from audit.archive.backends import ArchiveMissing
from audit.archive.restore import archived_records
from audit.models import LedgerCheckpoint
from audit.retention.policy import retention_set
from audit.retention.registry import BY_KEY
from audit.retention.selectors import recent_runs, retention_table
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability

ARCHIVE_PAGE = 50


class RetentionForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(key, kind.label) for key, kind in BY_KEY.items() if kind.per_organization]
    )
    days = forms.IntegerField(required=False, min_value=0, help_text="Empty: the deployment default.")


@require_http_methods(["GET", "HEAD", "POST"])
@requires(Capability.AUDIT_VIEW, post=Capability.ORGANIZATION_MANAGE)
def retention(request):
    errors = {}
    status = 200
    if request.method == "POST":
        form = RetentionForm(request.POST)
        if form.is_valid():
            try:
                retention_set(
                    actor=request.actor, kind=form.cleaned_data["kind"], days=form.cleaned_data["days"]
                )
            except ValidationError as exc:
                errors[form.cleaned_data["kind"]] = "; ".join(exc.messages)
            else:
                return redirect("audit:retention")
        else:
            errors[request.POST.get("kind", "")] = "; ".join(
                f"{name}: {', '.join(messages)}" for name, messages in form.errors.items()
            )
        status = 400
    rows = retention_table(request.organization)
    for row in rows:
        row["error"] = errors.get(row["kind"].key)
    checkpoints = LedgerCheckpoint.objects.filter(organization=request.organization).order_by(
        "-last_sequence"
    )
    context = {
        "rows": rows,
        "runs": recent_runs(request.organization),
        "checkpoints": list(checkpoints[:20]),
        "can_change": request.actor.can(Capability.ORGANIZATION_MANAGE),
    }
    return render(request, "audit/retention.html", context, status=status)


@require_safe
@requires(Capability.AUDIT_VIEW)
def archived(request):
    """Archived entries read back from the archive, ``ARCHIVE_PAGE`` at a time from ``?from=``."""
    try:
        first = max(1, int(request.GET.get("from", "1")))
    except ValueError as exc:
        raise Http404("Not a sequence number.") from exc
    entries, problem = [], None
    try:
        for record in archived_records(request.organization.pk, first=first, last=first + ARCHIVE_PAGE - 1):
            entries.append(record)
    except ArchiveMissing as exc:
        problem = str(exc)
    newest = (
        LedgerCheckpoint.objects.filter(organization=request.organization).order_by("-last_sequence").first()
    )
    context = {
        "entries": entries,
        "problem": problem,
        "first": first,
        "newer_url": f"?from={first + ARCHIVE_PAGE}"
        if newest and first + ARCHIVE_PAGE <= newest.last_sequence
        else None,
        "older_url": f"?from={max(1, first - ARCHIVE_PAGE)}" if first > 1 else None,
        "newest": newest,
    }
    return render(request, "audit/archived.html", context)
