"""URL composition root: every app's pages, API and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from incidents.ingest import views as ingest_views
from opsplatform.accounts import urls as accounts_urls
from opsplatform.core import health
from opsplatform.home import views as home_views
from opsplatform.home import webapp

# "/" is the home page (opsplatform.home, a top layer) under the name every page links home by,
# accounts:dashboard: accounts may not import the home app, the composition root joins them.
home_and_accounts = [path("", home_views.home, name="dashboard"), *accounts_urls.urlpatterns]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("manifest.webmanifest", webapp.manifest, name="webapp-manifest"),
    path("sw.js", webapp.service_worker, name="webapp-service-worker"),
    path("offline/", webapp.offline, name="webapp-offline"),
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
    path("api/v1/", include("monitoring.api.urls")),
    path("", include("monitoring.statuspages.urls")),
    path("api/v1/", include("monitoring.statuspages.api.urls")),
    path("", include("monitoring.urls")),
    path("", include("workflows.urls")),
    path("api/v1/", include("knowledge.api.urls")),
    path("", include("knowledge.urls")),
    path("api/v1/", include("knowledge.postmortems.api.urls")),
    path("", include("knowledge.postmortems.urls")),
    path("", include("opsplatform.home.urls")),
    path("", include((home_and_accounts, accounts_urls.app_name))),
    path("api/v1/", include("opsplatform.analytics.api_urls")),
    path("analytics/", include("opsplatform.analytics.urls")),
    path("api/v1/", include("workflows.automation.api.urls")),
    path("", include("workflows.automation.urls")),
]

handler400 = "opsplatform.api.problems.handler400"
handler403 = "opsplatform.api.problems.handler403"
handler404 = "opsplatform.api.problems.handler404"
handler500 = "opsplatform.api.problems.handler500"
