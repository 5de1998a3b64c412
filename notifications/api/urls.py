"""On-call and notifications' part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from rest_framework.routers import SimpleRouter

from notifications.api import covers, views

router = SimpleRouter()
router.register("schedules", views.ScheduleViewSet, basename="schedule")
router.register("escalation-policies", views.EscalationPolicyViewSet, basename="escalation-policy")
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("notifications", views.NotificationViewSet, basename="notification")
router.register("overrides", covers.OverrideViewSet, basename="override")
router.register("swaps", covers.SwapViewSet, basename="swap")

urlpatterns = router.urls
