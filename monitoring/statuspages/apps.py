from django.apps import AppConfig


class StatusPagesConfig(AppConfig):
    name = "monitoring.statuspages"
    label = "statuspages"
    verbose_name = "Status pages"
