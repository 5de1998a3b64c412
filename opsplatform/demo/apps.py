from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "opsplatform.demo"
    label = "demo"
    verbose_name = "Demo data"
