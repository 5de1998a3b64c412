"""ASGI entry point: HTTP through Django, websockets through Channels (same sessions, same auth).

Alert ingestion (key-authenticated machine traffic, the hottest path in an alert storm) goes through
a second Django handler with a lean middleware stack: no session, user, OTP, messages, CSRF or login
throttling to load for a request that uses none of them. Same URLconf, same views.
"""

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
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from opsplatform.routing import websocket_urlpatterns  # noqa: E402

INGESTION_PATH = re.compile(
    r"^/(?:v2/enqueue|api/v1/integrations/(?:opi_[A-Za-z0-9_-]+/)?(?:alertmanager|grafana|webhook|heartbeat)/)$"
)


class IngestionHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        # BaseHandler reads settings.MIDDLEWARE; swap it only while this handler builds its chain.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.INGEST_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


ingestion_app = IngestionHandler()


async def http_app(scope, receive, send):
    app = ingestion_app if INGESTION_PATH.match(scope.get("path", "")) else django_asgi_app
    await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
