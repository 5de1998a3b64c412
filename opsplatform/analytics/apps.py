from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "opsplatform.analytics"
    label = "analytics"
    verbose_name = "Analytics"
