"""Analytics' part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from django.urls import path

from opsplatform.analytics import api

urlpatterns = [
    path("analytics/incidents/", api.IncidentAnalyticsView.as_view(), name="analytics-incidents"),
    path("analytics/oncall-load/", api.OnCallLoadView.as_view(), name="analytics-oncall-load"),
]
