"""The workflows app's part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``)."""

from rest_framework.routers import SimpleRouter

from workflows.api.views import ApprovalViewSet, TaskViewSet, WorkflowDefinitionViewSet, WorkflowRunViewSet

router = SimpleRouter()
router.register("workflows", WorkflowDefinitionViewSet, basename="workflow")
router.register("workflow-runs", WorkflowRunViewSet, basename="workflow-run")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = router.urls
