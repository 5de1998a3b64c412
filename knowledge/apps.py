from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from incidents.api import detail_fields
        from knowledge.contributions import forget_runbook_candidates, incident_runbooks, top_runbook_link
        from knowledge.models import Article, Space
        from notifications import message_links

        detail_fields.register("runbooks", incident_runbooks)
        message_links.register("runbook", top_runbook_link)
        for model in (Article, Space):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_runbook_candidates, sender=model, dispatch_uid=f"runbook-links:{model._meta.label}"
                )
