from django.urls import path

from opsplatform.home import views

app_name = "home"

urlpatterns = [
    path("home/cards/<slug:name>/", views.card, name="card"),
]
