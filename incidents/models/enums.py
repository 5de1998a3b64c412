from django.db import models


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1"
    SEV2 = "sev2", "SEV2"
    SEV3 = "sev3", "SEV3"
    SEV4 = "sev4", "SEV4"


class Priority(models.TextChoices):
    P1 = "p1", "P1"
    P2 = "p2", "P2"
    P3 = "p3", "P3"
    P4 = "p4", "P4"
    P5 = "p5", "P5"


class Status(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


OPEN_STATUSES = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.SNOOZED)


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class Tier(models.TextChoices):
    TIER1 = "tier1", "Tier 1 (critical)"
    TIER2 = "tier2", "Tier 2"
    TIER3 = "tier3", "Tier 3"
    TIER4 = "tier4", "Tier 4 (best effort)"


class SLAState(models.TextChoices):
    OK = "ok", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    NONE = "none", "No SLA"


class Calendar(models.TextChoices):
    ALWAYS = "24x7", "24x7"
    BUSINESS_HOURS = "business_hours", "Business hours"
