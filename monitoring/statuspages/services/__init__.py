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

__all__ = [
    "SubscribeThrottled",
    "component_create",
    "component_delete",
    "component_update",
    "maintenance_schedule",
    "notice_open",
    "notice_update",
    "page_create",
    "page_delete",
    "page_update",
    "subscriber_confirm",
    "subscriber_subscribe",
    "subscriber_unsubscribe",
]
