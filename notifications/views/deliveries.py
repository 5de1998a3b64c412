"""On-call and notifications pages for deliveries: the delivery dashboard and the dead-letter resend
action (also offered on the incident page)."""

from django.shortcuts import render
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.models import Notification
from notifications.services.outbox import notification_resend
from opsplatform.core.access import get_for_read_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act


@requires(Capability.INCIDENT_VIEW)
def delivery_dashboard(request):
    context = selectors.delivery_dashboard(request.organization)
    context["can_resend"] = request.actor.can(Capability.INCIDENT_MANAGE)
    return render(request, "notifications/deliveries.html", context)


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
