"""On-call and notifications pages for deliveries: every outbox row, filtered and paged, with the
bulk resend of dead letters; and the single resend action (also offered on the incident page)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from incidents.views.pagination import lookahead_page
from notifications import selectors
from notifications.eventlogs import attach_attempts
from notifications.models import Channel, Medium, Notification, NotificationStatus
from notifications.services.bulk_resend import notifications_resend_dead
from notifications.services.outbox import notification_resend
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, first_error
from opsplatform.core.widgets import CheckboxDropdown, Chips

PAGE_SIZE = 50


class DeliveryFilterForm(forms.Form):
    """Filters of the deliveries page: all in the URL, so a filtered view can be shared."""

    status = forms.MultipleChoiceField(choices=NotificationStatus.choices, required=False, widget=Chips)
    medium = forms.MultipleChoiceField(choices=Medium.choices, required=False, widget=Chips, label="Kind")
    channel = forms.ModelMultipleChoiceField(
        queryset=Channel.objects.none(), required=False, widget=CheckboxDropdown(empty_label="All channels")
    )
    incident = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, label="Incident #")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.for_organization(organization).order_by("name")

    def apply(self, rows):
        data = self.cleaned_data
        if data["status"]:
            rows = rows.filter(status__in=data["status"])
        if data["medium"]:
            rows = rows.filter(medium__in=data["medium"])
        if data["channel"]:
            rows = rows.filter(channel__in=data["channel"])
        if data["incident"]:
            rows = rows.filter(incident_id=data["incident"])
        return rows


def retry_summary(row: Notification) -> str:
    """Attempts folded into one line: "3 attempts failed, last error …"."""
    failed = [a for a in row.attempt_entries if a.outcome != "sent"]
    error = row.last_error or (failed[-1].error if failed else "")
    last = f", last error: {error}" if error else ""
    if row.status == NotificationStatus.SENT:
        return f"Sent on attempt {row.attempts} after {len(failed)} failed{last}" if failed else ""
    if not failed:
        return ""
    noun = "attempt" if len(failed) == 1 else "attempts"
    return f"{len(failed)} {noun} failed{last}"


@requires(Capability.INCIDENT_VIEW)
def delivery_dashboard(request):
    if request.method == "POST":
        return _bulk_resend(request)
    org = request.organization
    form = DeliveryFilterForm(request.GET, organization=org)
    rows = selectors.notifications_for_list(org).select_related("incident").order_by("-created_at", "-id")
    filtered = form.is_valid() and any(form.cleaned_data.values())
    page = lookahead_page(
        form.apply(rows) if form.is_valid() else rows.none(), request.GET.get("page"), PAGE_SIZE
    )
    for row in attach_attempts(page.object_list):
        row.retry_summary = retry_summary(row)
    context = selectors.delivery_dashboard(org)
    context.update(
        form=form,
        page=page,
        filtered=filtered,
        can_resend=request.actor.can(Capability.INCIDENT_MANAGE),
        dead_status=NotificationStatus.DEAD,
    )
    counts = context["counts"]
    context["waiting"] = counts.get(NotificationStatus.PENDING, 0) + counts.get(NotificationStatus.SENDING, 0)
    return render(request, "notifications/deliveries.html", context)


def _bulk_resend(request):
    back = request.get_full_path()
    ids = [value for value in request.POST.getlist("notification") if value.isdigit()]
    if not ids:
        messages.error(request, "Select the dead letters to resend first.")
        return redirect(back)
    # Another organization's ids match nothing here: they are "not found", never touched.
    rows = list(
        Notification.objects.for_organization(request.organization)
        .select_related("incident")
        .filter(pk__in=ids)
    )
    try:
        outcome = notifications_resend_dead(actor=request.actor, notifications=rows)
    except forms.ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect(back)
    missing = len(set(ids)) - len(rows)
    if outcome.resent:
        count = len(outcome.resent)
        messages.success(
            request, f"Resent {count} dead letter{'s' if count != 1 else ''}; delivery starts again."
        )
    refused = [f"#{row.pk} ({reason})" for row, reason in outcome.refused]
    if missing:
        refused.append(f"{missing} not found")
    if refused:
        messages.error(request, "Not resent: " + "; ".join(refused) + ". Only dead letters can be resent.")
    return redirect(back)


@require_POST
@requires(Capability.INCIDENT_VIEW)
def resend(request, pk):
    # Resending needs incident.manage on the notification's incident (an object grant on the incident
    # counts), which the service checks against the incident itself.
    notification = get_for_read_or_404(
        request, Notification.objects.select_related("incident"), Capability.INCIDENT_VIEW, pk=pk
    )
    if request.POST.get("next") == "dashboard":
        back = "notifications:deliveries"
    else:
        back = ("incidents:detail", notification.incident_id)
    return act(
        request,
        lambda: notification_resend(actor=request.actor, notification=notification),
        success=f"Notification to {notification.destination} queued again.",
        redirect_to=back,
    )
