from rest_framework.routers import SimpleRouter

from audit.api import LedgerEntryViewSet

router = SimpleRouter()
router.register("ledger", LedgerEntryViewSet, basename="ledger")

urlpatterns = router.urls
