from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Event ledger"

    def ready(self):
        from audit.services import record
        from opsplatform import ledger

        ledger.set_recorder(record)
