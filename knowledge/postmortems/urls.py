from django.urls import path

from . import views

app_name = "postmortems"

urlpatterns = [
    path("postmortems/", views.postmortem_list, name="index"),
    path("postmortems/<int:pk>/", views.postmortem_page, name="detail"),
    path("postmortems/<int:pk>/history/", views.postmortem_history, name="history"),
    path("postmortems/<int:pk>/diff/", views.postmortem_diff, name="diff"),
    path("postmortems/<int:pk>/runbooks/", views.postmortem_runbooks, name="runbooks"),
    path("postmortems/<int:pk>/<slug:name>/", views.postmortem_action, name="action"),
    path("postmortems/from-incident/<int:incident_id>/", views.draft_from_incident, name="draft"),
]
