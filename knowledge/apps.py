from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"

    def ready(self):
        from incidents.api import detail_fields
        from knowledge.contributions import incident_runbooks

        detail_fields.register("runbooks", incident_runbooks)
