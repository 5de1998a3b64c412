from django.db import models
from django.db.models import Q

from opsplatform.core.actors import ActorKind


class LedgerEntry(models.Model):
    """One immutable event. A trigger refuses UPDATE and DELETE (migration 0002).

    Entries form one hash chain per organization (``organization`` NULL is the platform chain for
    events that belong to no organization): ``entry_hash`` covers every field and ``prev_hash``.
    """

    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.BigIntegerField()
    actor_type = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["organization_id", "sequence"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="ledger_sequence_unique", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "target_type", "target_id", "sequence"], name="ledger_target_idx"
            ),
            models.Index(fields=["organization", "-created_at"], name="ledger_recent_idx"),
            models.Index(fields=["organization", "actor_type", "actor_id"], name="ledger_actor_idx"),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.verb} {self.target_type}:{self.target_id}"

    @property
    def platform_chain(self) -> bool:
        return self.organization_id is None


PLATFORM_CHAIN = Q(organization__isnull=True)
