from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "opsplatform.home"
    label = "home"
    verbose_name = "Home"
