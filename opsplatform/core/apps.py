from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel as an app only so its template tags and widget templates are found."""

    name = "opsplatform.core"
    label = "core"
    verbose_name = "Core"
