from rest_framework.routers import SimpleRouter

from knowledge.api.views import ArticleViewSet, SpaceViewSet

router = SimpleRouter()
router.register("articles", ArticleViewSet, basename="article")
router.register("knowledge-spaces", SpaceViewSet, basename="knowledge-space")

urlpatterns = router.urls
