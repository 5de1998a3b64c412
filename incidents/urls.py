from django.urls import path

from incidents.views import catalog, detail, listing
from incidents.views import integrations as integration_pages

app_name = "incidents"

urlpatterns = [
    path("incidents/", listing.incident_list, name="list"),
    path("incidents/new/", listing.incident_new, name="new"),
    path("incidents/bulk/", listing.incident_bulk, name="bulk"),
    path("incidents/<int:pk>/", detail.incident_detail, name="detail"),
    path("incidents/<int:pk>/<slug:action>/", detail.incident_action, name="action"),
    path("services/", catalog.service_list, name="services"),
    path("services/new/", catalog.service_new, name="service_new"),
    path("services/<int:pk>/", catalog.service_detail, name="service_detail"),
    path("services/<int:pk>/incidents/", catalog.service_incidents, name="service_incidents"),
    path("services/<int:pk>/integrations/", catalog.service_integrations, name="service_integrations"),
    path("services/<int:pk>/edit/", catalog.service_edit, name="service_edit"),
    path("services/<int:pk>/delete/", catalog.service_delete, name="service_delete"),
    path("integrations/", integration_pages.integration_list, name="integrations"),
    path("integrations/new/", integration_pages.integration_new, name="integration_new"),
    path("integrations/<int:pk>/", integration_pages.integration_detail, name="integration_detail"),
    path("integrations/<int:pk>/events/", integration_pages.integration_events, name="integration_events"),
    path("integrations/<int:pk>/rules/", integration_pages.integration_rules, name="integration_rules"),
    path(
        "integrations/<int:pk>/test-event/",
        integration_pages.integration_test_event,
        name="integration_test_event",
    ),
    path("integrations/<int:pk>/edit/", integration_pages.integration_edit, name="integration_edit"),
    path("integrations/<int:pk>/rotate/", integration_pages.integration_rotate, name="integration_rotate"),
    path("integrations/<int:pk>/delete/", integration_pages.integration_delete, name="integration_delete"),
    path(
        "integrations/<int:pk>/test-mapping/",
        integration_pages.integration_test_mapping,
        name="integration_test_mapping",
    ),
    path("integrations/<int:pk>/rules/new/", integration_pages.rule_new, name="rule_new"),
    path("integrations/rules/<int:pk>/edit/", integration_pages.rule_edit, name="rule_edit"),
    path("integrations/rules/<int:pk>/delete/", integration_pages.rule_delete, name="rule_delete"),
    path("integrations/rules/<int:pk>/move/<slug:direction>/", integration_pages.rule_move, name="rule_move"),
    path("maintenance/", integration_pages.maintenance_list, name="maintenance"),
    path("maintenance/new/", integration_pages.maintenance_new, name="maintenance_new"),
    path("maintenance/<int:pk>/", integration_pages.maintenance_detail, name="maintenance_detail"),
    path("maintenance/<int:pk>/delete/", integration_pages.maintenance_delete, name="maintenance_delete"),
]
