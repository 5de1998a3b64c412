from monitoring.statuspages.services.notices import maintenance_schedule, notice_open, notice_update
from monitoring.statuspages.services.pages import (
    component_create,
    component_delete,
    component_update,
    page_create,
    page_delete,
    page_update,
)
from monitoring.statuspages.services.subscribers import (
    SubscribeThrottled,
    subscriber_confirm,
    subscriber_subscribe,
    subscriber_unsubscribe,
)
from monitoring.statuspages.services.transitions import maintenance_transition, run_maintenance_tick
from monitoring.statuspages.services.webhooks import (
    IssuedWebhook,
    webhook_add,
    webhook_enable,
    webhook_remove,
)

__all__ = [
    "IssuedWebhook",
    "SubscribeThrottled",
    "component_create",
    "component_delete",
    "component_update",
    "maintenance_schedule",
    "maintenance_transition",
    "notice_open",
    "notice_update",
    "page_create",
    "page_delete",
    "page_update",
    "run_maintenance_tick",
    "subscriber_confirm",
    "subscriber_subscribe",
    "subscriber_unsubscribe",
    "webhook_add",
    "webhook_enable",
    "webhook_remove",
]
