"""URL composition root: every app's pages, API and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from opsplatform import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("opsplatform.api.urls")),
    path("api/v1/", include("audit.api_urls")),
    path("audit/", include("audit.urls")),
    path("api/v1/", include("incidents.api.urls")),
    path("", include("incidents.urls")),
    path("", include("opsplatform.accounts.urls")),
]

handler400 = "opsplatform.api.problems.handler400"
handler403 = "opsplatform.api.problems.handler403"
handler404 = "opsplatform.api.problems.handler404"
handler500 = "opsplatform.api.problems.handler500"
