"""Retention for a demo organization: its own setting for notification attempts, and a first run of
every kind so the Data retention page shows last runs. Once per organization."""

from audit.models import RetentionRun
from audit.retention.policy import retention_set
from audit.retention.registry import KINDS
from audit.retention.runner import run_kind
from opsplatform.core.actors import Actor


def seed_retention(organization, people) -> None:
    actor = Actor.system("seed_demo", organization=organization)
    retention_set(actor=actor, kind="notification_attempts", days=30)
    if RetentionRun.objects.filter(organization=organization).exists():
        return
    for kind in KINDS:
        if kind.per_organization:
            run_kind(kind, organization_id=organization.pk)
