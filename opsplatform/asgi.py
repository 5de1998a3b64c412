"""ASGI entry point: HTTP through Django, websockets through Channels (same sessions, same auth).

Alert ingestion (key-authenticated machine traffic, the hottest path in an alert storm) goes through
a second Django handler (``opsplatform.core.pooled_asgi``) with a lean middleware stack, run in one hop
on a pool of worker threads. The REST API goes through a third, with the full middleware stack (so
sessions, CSRF and the 2FA gate apply as on pages), also in one hop on a pool of its own: Django's
own handler hops between the event loop and threads four or five times per request, ~10 ms of a
~40 ms API request under load. Same URLconf, same views.
"""

import gc
import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsplatform.settings")
# Django must be set up before anything imports models (the consumers below do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from opsplatform.api.problems import is_api_path  # noqa: E402
from opsplatform.core.asgi_body import CappedBody  # noqa: E402
from opsplatform.core.pooled_asgi import PooledHandler  # noqa: E402
from opsplatform.routing import websocket_urlpatterns  # noqa: E402

INGESTION_PATH = re.compile(
    r"^/(?:v2/enqueue|api/v1/integrations/(?:opi_[A-Za-z0-9_-]+/)?(?:alertmanager|grafana|webhook|heartbeat)/)$"
)


ingestion_app = PooledHandler(threads=settings.INGEST_THREADS, middleware=settings.INGEST_MIDDLEWARE)
api_app = PooledHandler(threads=settings.API_THREADS, middleware=settings.MIDDLEWARE, name="api")


# Pages and the API get their body capped before Django spools it (ingestion caps its own).
pages_app = CappedBody(django_asgi_app)


async def http_app(scope, receive, send):
    path = scope.get("path", "")
    if INGESTION_PATH.match(path):
        app = ingestion_app
    elif is_api_path(path):
        app = api_app
    else:
        app = pages_app
    await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded by now lives as long as the process: take it out of the cyclic collector's
# sight. Otherwise each full collection walks the ~120,000 objects of Django and the app (about
# 50 ms here, holding the GIL), a pause every request in flight in this process waits out.
gc.freeze()
