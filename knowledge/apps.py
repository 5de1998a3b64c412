from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"

    def ready(self):
        from incidents.api import detail_fields
        from knowledge.contributions import incident_runbooks, top_runbook_link
        from notifications import message_links

        detail_fields.register("runbooks", incident_runbooks)
        message_links.register("runbook", top_runbook_link)
