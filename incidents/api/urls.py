"""The incident app's part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``).

A SimpleRouter like the core's: no browsable root view, so ``/api/v1/`` stays a 404.
"""

from rest_framework.routers import SimpleRouter

from incidents.api.catalog_views import ServiceViewSet
from incidents.api.views import IncidentViewSet

router = SimpleRouter()
router.register("services", ServiceViewSet, basename="service")
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = router.urls
