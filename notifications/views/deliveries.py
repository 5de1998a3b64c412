"""The delivery dashboard and the dead-letter resend action."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.models import Notification
from notifications.services.outbox import notification_resend
from opsplatform.core.access import member_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import first_error
from opsplatform.core.tenancy import get_in_organization_or_404


@member_required
def delivery_dashboard(request):
    request.actor.require(Capability.INCIDENT_VIEW)
    context = selectors.delivery_dashboard(request.organization)
    context["can_resend"] = request.actor.can(Capability.INCIDENT_MANAGE)
    return render(request, "notifications/deliveries.html", context)


@require_POST
@member_required
def resend(request, pk):
    notification = get_in_organization_or_404(
        Notification.objects.select_related("incident"), request.organization, pk=pk
    )
    try:
        notification_resend(actor=request.actor, notification=notification)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, f"Notification to {notification.destination} queued again.")
    if request.POST.get("next") == "dashboard":
        return redirect("notifications:deliveries")
    return redirect("incidents:detail", pk=notification.incident_id)
