"""Ingestion routes under ``/api/v1/integrations/`` (mounted by ``opsplatform/urls.py``).

The key in the path only ever matches ``opi_…`` keys, and the bearer-header variants use fixed words
the management API's numeric ids never take, so these routes and ``/api/v1/integrations/<id>/…`` never
shadow each other. ``/v2/enqueue`` (PagerDuty Events API v2) is mounted at the site root.
"""

from django.urls import path, register_converter

from incidents.ingest import views
from incidents.ingest.keys import KeyConverter

register_converter(KeyConverter, "integrationkey")

app_name = "ingest"

urlpatterns = [
    path("<integrationkey:key>/alertmanager/", views.alertmanager_endpoint, name="alertmanager"),
    path("<integrationkey:key>/grafana/", views.grafana_endpoint, name="grafana"),
    path("<integrationkey:key>/webhook/", views.webhook_endpoint, name="webhook"),
    path("<integrationkey:key>/heartbeat/", views.heartbeat_endpoint, name="heartbeat"),
    path("alertmanager/", views.alertmanager_endpoint, name="alertmanager_bearer"),
    path("grafana/", views.grafana_endpoint, name="grafana_bearer"),
    path("webhook/", views.webhook_endpoint, name="webhook_bearer"),
    path("heartbeat/", views.heartbeat_endpoint, name="heartbeat_bearer"),
]
