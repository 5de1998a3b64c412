"""The postmortems' part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import IncidentPostmortemView, PostmortemViewSet

router = SimpleRouter()
router.register("postmortems", PostmortemViewSet, basename="postmortem")

urlpatterns = [
    path(
        "incidents/<int:incident_id>/postmortem/",
        IncidentPostmortemView.as_view(),
        name="incident-postmortem",
    ),
    *router.urls,
]
