from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel as an app so its template tags and widget templates are found, and so every
    process tunes its database driver once (``driver.tune``)."""

    name = "opsplatform.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from opsplatform.core.driver import tune

        tune()
