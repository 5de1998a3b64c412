"""On-call and notifications: the browser's side of web push. The page's script subscribes with the
deployment's VAPID key and posts the subscription here (JSON, CSRF header); the notification's
"Acknowledge" action posts to ``acknowledge_push`` with the signed link it carries."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.models import Incident
from incidents.services import incident_acknowledge
from notifications.ack_links import read_ack_token
from notifications.services import web_push as services
from notifications.views.ack import _actor_for


def _json(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError({"body": "Send the subscription as a JSON object."})
    return body


def _errors(exc: ValidationError) -> JsonResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return JsonResponse({"errors": detail}, status=400)


@require_POST
@login_required
def push_subscribe(request):
    try:
        body = _json(request)
        keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
        contact = services.web_push_subscribe(
            actor=request.actor,
            user=request.user,
            endpoint=str(body.get("endpoint") or ""),
            p256dh=str(keys.get("p256dh") or ""),
            auth=str(keys.get("auth") or ""),
            label=str(body.get("label") or "")[:100],
        )
    except ValidationError as exc:
        return _errors(exc)
    return JsonResponse({"id": contact.pk, "label": contact.label}, status=201)


@require_POST
@login_required
def push_unsubscribe(request):
    try:
        endpoint = str(_json(request).get("endpoint") or "")
    except ValidationError as exc:
        return _errors(exc)
    removed = services.web_push_unsubscribe(actor=request.actor, user=request.user, endpoint=endpoint)
    return JsonResponse({"removed": removed})


# The signed, personal link is the credential (as on the confirmation page it opens), not a cookie,
# so there is no cross-site request to forge; links that name nobody are refused here.
@csrf_exempt
@require_POST
def acknowledge_push(request, token):
    claim = read_ack_token(token)
    if claim is None or claim.user_id is None:
        return JsonResponse({"detail": "This link cannot acknowledge from a notification."}, status=410)
    incident = Incident.objects.select_related("organization").filter(pk=claim.incident_id).first()
    if incident is None:
        return JsonResponse({"detail": "No incident matches this link."}, status=404)
    try:
        actor = _actor_for(request, claim, incident)
        incident = incident_acknowledge(actor=actor, incident=incident)
    except PermissionDenied:
        return JsonResponse({"detail": "You may not acknowledge incidents here."}, status=403)
    except ValidationError as exc:
        return JsonResponse({"detail": "; ".join(exc.messages)}, status=409)
    return JsonResponse({"incident": incident.pk, "status": incident.status})
