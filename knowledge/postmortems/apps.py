from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "knowledge.postmortems"
    label = "postmortems"
    verbose_name = "Postmortems"
