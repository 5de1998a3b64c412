from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self):
        from incidents.ingest import key_cache

        key_cache.connect_signals()
