"""Heartbeat pings: ``/api/v1/monitors/ping/<key>/`` (success), ``…/start/`` and ``…/fail/``.

The key is the credential (no session, no token), like a heartbeat integration's URL; GET, HEAD and
POST all count, because cron jobs use whatever their HTTP tool sends. An unknown key is a 404.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from monitoring.services import PingKind, heartbeat_ping

KEY_MAX = 64


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def ping(request, key: str, kind: str = PingKind.SUCCESS):
    monitor = heartbeat_ping(key=key[:KEY_MAX], kind=kind)
    if monitor is None:
        return JsonResponse(
            {
                "type": "about:blank",
                "title": "Not found.",
                "status": 404,
                "detail": "No heartbeat monitor has this key.",
            },
            status=404,
            content_type="application/problem+json",
        )
    return HttpResponse("OK\n", content_type="text/plain")
