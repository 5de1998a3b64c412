"""The core's part of ``/api/v1/`` (mounted by ``opsplatform/urls.py``; apps mount their own routers).

A SimpleRouter, not DefaultRouter: no browsable root view, so ``/api/v1/`` itself is a 404 like any
other unknown API path.
"""

from rest_framework.routers import SimpleRouter

from opsplatform.api import account_views

router = SimpleRouter()
router.register("organizations", account_views.OrganizationViewSet, basename="organization")
router.register("teams", account_views.TeamViewSet, basename="team")
router.register("members", account_views.MemberViewSet, basename="member")
router.register("invitations", account_views.InvitationViewSet, basename="invitation")
router.register("tokens", account_views.ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
