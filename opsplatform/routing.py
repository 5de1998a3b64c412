"""Websocket routes of every app (composition root)."""

from django.urls import path

from opsplatform.realtime.consumers import OrganizationConsumer

websocket_urlpatterns = [
    path("ws/organization/", OrganizationConsumer.as_asgi()),
]
