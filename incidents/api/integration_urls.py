"""Integration management under ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from rest_framework.routers import SimpleRouter

from incidents.api.integration_views import IntegrationViewSet, MaintenanceWindowViewSet, RoutingRuleViewSet

router = SimpleRouter()
router.register("integrations", IntegrationViewSet, basename="integration")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")

urlpatterns = router.urls
