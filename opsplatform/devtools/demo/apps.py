from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "opsplatform.devtools.demo"
    label = "demo"
    verbose_name = "Demo data"
