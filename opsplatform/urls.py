"""URL composition root: every app's pages, API and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from incidents.ingest import views as ingest_views
from opsplatform.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("opsplatform.api.urls")),
    path("api/v1/", include("audit.api_urls")),
    path("audit/", include("audit.urls")),
    path("api/v1/", include("incidents.api.urls")),
    # Alert ingestion: key-authenticated endpoints (no session, no CSRF), then integration management.
    path("api/v1/integrations/", include("incidents.ingest.urls")),
    path("v2/enqueue", ingest_views.pagerduty_enqueue, name="pagerduty-enqueue"),
    path("api/v1/", include("incidents.api.integration_urls")),
    path("", include("incidents.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("", include("notifications.urls")),
    path("api/v1/", include("workflows.api.urls")),
    path("", include("workflows.urls")),
    path("api/v1/", include("workflows.automation.api.urls")),
    path("", include("workflows.automation.urls")),
    path("", include("opsplatform.accounts.urls")),
]

handler400 = "opsplatform.api.problems.handler400"
handler403 = "opsplatform.api.problems.handler403"
handler404 = "opsplatform.api.problems.handler404"
handler500 = "opsplatform.api.problems.handler500"
