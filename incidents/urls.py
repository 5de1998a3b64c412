from django.urls import path

from incidents.views import catalog, detail, listing

app_name = "incidents"

urlpatterns = [
    path("incidents/", listing.incident_list, name="list"),
    path("incidents/new/", listing.incident_new, name="new"),
    path("incidents/bulk/", listing.incident_bulk, name="bulk"),
    path("incidents/<int:pk>/", detail.incident_detail, name="detail"),
    path("incidents/<int:pk>/<slug:action>/", detail.incident_action, name="action"),
    path("services/", catalog.service_list, name="services"),
    path("services/new/", catalog.service_edit, name="service_new"),
    path("services/<int:pk>/", catalog.service_detail, name="service_detail"),
    path("services/<int:pk>/edit/", catalog.service_edit, name="service_edit"),
    path("services/<int:pk>/delete/", catalog.service_delete, name="service_delete"),
]
