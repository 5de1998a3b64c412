from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"

    def ready(self):
        from incidents.ingest import lookup_cache

        lookup_cache.connect_signals()
