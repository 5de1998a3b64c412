"""The automation part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from rest_framework.routers import SimpleRouter

from workflows.automation.api.views import AutomationRuleViewSet

router = SimpleRouter()
router.register("automation-rules", AutomationRuleViewSet, basename="automation-rule")

urlpatterns = router.urls
