"""On-call and notifications: one-click acknowledge from a notification. A signed, expiring link
opens a confirmation page, and only its POST acknowledges (link scanners in mail systems fetch GETs).

A link sent to a person acts as that person, signed in or not, as long as they are still a member
allowed to acknowledge. A link posted to a channel names nobody: whoever follows it signs in.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from incidents.models import Incident
from incidents.services import incident_acknowledge
from notifications.ack_links import read_ack_token
from opsplatform.accounts.models import Membership, User
from opsplatform.core.actors import Actor


def _actor_for(request, claim, incident) -> Actor | None:
    if claim.user_id is None:
        if not request.user.is_authenticated:
            return None
        if (
            request.actor is None
            or getattr(request.actor.organization, "pk", None) != incident.organization_id
        ):
            membership = Membership.objects.filter(
                user=request.user, organization_id=incident.organization_id
            ).first()
            if membership is None:
                raise Http404("No incident matches this link.")
            return Actor.for_member(request.user, membership.organization, role=membership.role)
        return request.actor
    user = User.objects.filter(pk=claim.user_id, is_active=True).first()
    membership = Membership.objects.filter(user=user, organization_id=incident.organization_id).first()
    if user is None or membership is None:
        raise Http404("No incident matches this link.")
    return Actor.for_member(user, membership.organization, role=membership.role)


@never_cache
def acknowledge_link(request, token):
    claim = read_ack_token(token)
    if claim is None:
        return render(request, "notifications/ack.html", {"invalid": True}, status=410)
    incident = Incident.objects.select_related("organization", "service").filter(pk=claim.incident_id).first()
    if incident is None:
        raise Http404("No incident matches this link.")
    actor = _actor_for(request, claim, incident)
    if actor is None:
        return redirect_to_login(request.get_full_path())
    context = {"incident": incident, "actor": actor, "done": False, "error": ""}
    status = 200
    if request.method == "POST":
        try:
            incident = incident_acknowledge(actor=actor, incident=incident)
        except PermissionDenied:
            context["error"] = "You are not allowed to acknowledge incidents in this organization."
            status = 403
        except ValidationError as exc:
            context["error"] = "; ".join(exc.messages)
            status = 409
        else:
            context.update(incident=incident, done=True)
    return render(request, "notifications/ack.html", context, status=status)
