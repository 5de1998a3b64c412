"""On-call and notifications models, one module per concern.

* ``contacts``: a person's contact methods and personal notification rules (person-owned: they follow
  the person into every organization, like the profile's time zone).
* ``channels``: an organization's delivery channels (e-mail, Slack, Teams, webhook, Twilio).
* ``schedules``: on-call schedules, their layers, overrides, swaps and calendar feeds.
* ``escalation``: escalation policies, their steps and targets, and where policies are attached.
* ``outbox``: the delivery outbox and every attempt made on it.
"""

from notifications.models.channels import Channel, ChannelKind
from notifications.models.contacts import ContactKind, ContactMethod, NotificationRule
from notifications.models.escalation import (
    EscalationPolicy,
    EscalationStep,
    ServiceEscalation,
    StepTarget,
    TargetKind,
    TeamEscalation,
)
from notifications.models.outbox import (
    AttemptOutcome,
    Medium,
    Notification,
    NotificationAttempt,
    NotificationStatus,
)
from notifications.models.schedules import (
    CalendarFeed,
    CoverStatus,
    LayerParticipant,
    RotationKind,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ShiftSwap,
)

__all__ = [
    "AttemptOutcome",
    "CalendarFeed",
    "Channel",
    "ChannelKind",
    "ContactKind",
    "ContactMethod",
    "CoverStatus",
    "EscalationPolicy",
    "EscalationStep",
    "LayerParticipant",
    "Medium",
    "Notification",
    "NotificationAttempt",
    "NotificationRule",
    "NotificationStatus",
    "RotationKind",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "ServiceEscalation",
    "ShiftSwap",
    "StepTarget",
    "TargetKind",
    "TeamEscalation",
]
