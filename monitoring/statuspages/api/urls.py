"""Status pages' part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from rest_framework.routers import SimpleRouter

from monitoring.statuspages.api.views import ComponentViewSet, StatusPageViewSet, WebhookSubscriberViewSet

router = SimpleRouter()
router.register("status-pages", StatusPageViewSet, basename="status-page")
router.register("status-components", ComponentViewSet, basename="status-component")
router.register("status-webhooks", WebhookSubscriberViewSet, basename="status-webhook")

urlpatterns = router.urls
