"""Monitoring's part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.ping import ping
from monitoring.api.views import MonitorViewSet
from monitoring.services import PingKind

router = SimpleRouter()
router.register("monitors", MonitorViewSet, basename="monitor")

urlpatterns = [
    path("monitors/ping/<str:key>/", ping, name="monitor-ping"),
    path("monitors/ping/<str:key>/start/", ping, {"kind": PingKind.START}, name="monitor-ping-start"),
    path("monitors/ping/<str:key>/fail/", ping, {"kind": PingKind.FAIL}, name="monitor-ping-fail"),
    *router.urls,
]
