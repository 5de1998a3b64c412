from django.urls import path
from rest_framework.routers import SimpleRouter

from audit.api import LedgerEntryViewSet
from audit.api_checkpoints import CheckpointViewSet, PublicKeyView

router = SimpleRouter()
# Before ``ledger``: its detail route would otherwise take "checkpoints" for an entry id.
router.register("ledger/checkpoints", CheckpointViewSet, basename="ledger-checkpoint")
router.register("ledger", LedgerEntryViewSet, basename="ledger")

urlpatterns = [
    path("ledger/public-key/", PublicKeyView.as_view(), name="ledger-public-key"),
    *router.urls,
]
