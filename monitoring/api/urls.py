"""Monitoring's part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.ping import ping
from monitoring.api.views import MonitorViewSet
from monitoring.locations.api import AgentLeaseView, AgentResultsView, ProbeLocationViewSet
from monitoring.services import PingKind

router = SimpleRouter()
router.register("monitors", MonitorViewSet, basename="monitor")
router.register("probe-locations", ProbeLocationViewSet, basename="probe-location")

urlpatterns = [
    path("monitors/ping/<str:key>/", ping, name="monitor-ping"),
    path("monitors/ping/<str:key>/start/", ping, {"kind": PingKind.START}, name="monitor-ping-start"),
    path("monitors/ping/<str:key>/fail/", ping, {"kind": PingKind.FAIL}, name="monitor-ping-fail"),
    path("probe-agent/lease/", AgentLeaseView.as_view(), name="probe-agent-lease"),
    path("probe-agent/results/", AgentResultsView.as_view(), name="probe-agent-results"),
    *router.urls,
]
