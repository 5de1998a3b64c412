"""Websocket routes of every app (composition root)."""

from django.urls import path

from incidents.consumers import IncidentConsumer
from opsplatform.realtime.consumers import OrganizationConsumer

websocket_urlpatterns = [
    path("ws/organization/", OrganizationConsumer.as_asgi()),
    path("ws/incidents/<int:incident_id>/", IncidentConsumer.as_asgi()),
]
