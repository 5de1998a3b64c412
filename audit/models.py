from django.db import models
from django.db.models import Q

from opsplatform.core.actors import ActorKind


class SealedEntries(models.Manager):
    """The ledger as readers see it: entries with their place in the chain. A staged entry joins
    it when the sealer numbers it (``audit.sealing``), usually well under a second later."""

    def get_queryset(self):
        return super().get_queryset().filter(sequence__isnull=False)


class LedgerEntry(models.Model):
    """One immutable event. A trigger refuses UPDATE and DELETE (migration 0002), except the one
    change that seals a staged entry into the chain (migration 0007).

    Entries form one hash chain per organization (``organization`` NULL is the platform chain for
    events that belong to no organization): ``entry_hash`` covers every field and ``prev_hash``.
    A staged entry (written by a hot path without the chain's lock) has no ``sequence``, ``prev_hash``
    or ``entry_hash`` yet, only ``staged_digest``, the content digest its seal will chain.
    """

    # Every index below starts with the organization; one of its own would only be written.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    sequence = models.BigIntegerField(null=True)
    actor_type = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    # NULL until sealed: an empty string would collide in the unique index.
    prev_hash = models.CharField(max_length=64, null=True)  # noqa: DJ001
    entry_hash = models.CharField(max_length=64, null=True)  # noqa: DJ001 - unique: Meta
    # How entry_hash is computed (audit.hashing): 1 for entries written before version 2 existed.
    hash_version = models.SmallIntegerField(default=1, db_default=1)
    staged_digest = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - sealed before 0007

    # Staged entries too: for the sealer, and for what must count everything written.
    all_entries = models.Manager()
    objects = SealedEntries()

    class Meta:
        ordering = ["organization_id", "sequence"]
        verbose_name_plural = "ledger entries"
        default_manager_name = "objects"
        # Each entry is written twice (staged, then sealed: the seal changes indexed columns), so
        # every index costs two insertions an entry, and the ledger takes more entries than any
        # other table in a storm. Hence one index for the verb (its pattern index answers equality
        # and prefixes alike) and none that only serves LIKE on a hex digest.
        constraints = [
            models.UniqueConstraint(fields=["entry_hash"], name="ledger_entry_hash_unique"),
            models.UniqueConstraint(
                fields=["organization", "sequence"],
                condition=Q(sequence__isnull=False),
                name="ledger_sequence_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "target_type", "target_id", "sequence"], name="ledger_target_idx"
            ),
            models.Index(fields=["organization", "-created_at"], name="ledger_recent_idx"),
            models.Index(fields=["organization", "actor_type", "actor_id"], name="ledger_actor_idx"),
            models.Index(fields=["verb"], name="ledger_verb_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["organization", "id"], condition=Q(sequence__isnull=True), name="ledger_staged_idx"
            ),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.verb} {self.target_type}:{self.target_id}"

    @property
    def platform_chain(self) -> bool:
        return self.organization_id is None


PLATFORM_CHAIN = Q(organization__isnull=True)


class LedgerCheckpoint(models.Model):
    """A signed statement that a span of one chain was archived: the chain's entries
    ``first_sequence``..``last_sequence`` end in ``last_hash``. Append-only, like the ledger
    (migration 0004).

    The live chain continues from the latest checkpoint (its first entry's ``prev_hash`` is
    ``last_hash``), and the archived span is checked against it. The signature covers
    :meth:`signed_payload` with the deployment's Ed25519 key named by ``key_id``.
    """

    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_sequence = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField()
    first_created_at = models.DateTimeField()
    last_created_at = models.DateTimeField()
    created_at = models.DateTimeField()
    backend = models.CharField(max_length=16)
    location = models.CharField(max_length=500)
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["organization_id", "last_sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "last_sequence"],
                name="ledger_checkpoint_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(first_sequence__gte=1, last_sequence__gte=models.F("first_sequence")),
                name="ledger_checkpoint_span",
            ),
        ]

    def __str__(self):
        return f"checkpoint {self.first_sequence}..{self.last_sequence}"

    def signed_payload(self) -> dict:
        return {
            "organization": self.organization_id,
            "first_sequence": self.first_sequence,
            "last_sequence": self.last_sequence,
            "last_hash": self.last_hash,
            "count": self.count,
            "first_created_at": self.first_created_at.isoformat(timespec="microseconds"),
            "last_created_at": self.last_created_at.isoformat(timespec="microseconds"),
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "backend": self.backend,
            "location": self.location,
            "key_id": self.key_id,
        }


class ArchivedSpanRemoval(models.Model):
    """An archived span that left the archive at the end of its own retention. Its checkpoint stays,
    and verification of the archive starts after the last removed span."""

    checkpoint = models.OneToOneField(LedgerCheckpoint, on_delete=models.PROTECT, related_name="removal")
    removed_at = models.DateTimeField()

    def __str__(self):
        return f"removal of {self.checkpoint}"


class RetentionOverride(models.Model):
    """An organization's retention for one kind of data, within the deployment's bounds
    (``audit.retention.registry``); without a row the deployment default applies."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    days = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="retention_override_unique"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.days} days"


class RetentionJob(models.Model):
    """The due time of one kind's next run, claimed by the retention beat tick.

    ``leased_until`` keeps a second tick off a run in progress; a worker that died leaves a lease
    that simply runs out.
    """

    kind = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField(db_index=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.kind} due {self.next_run_at:%Y-%m-%d %H:%M}"


class RetentionRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    PARTIAL = "partial", "More to do (continues next tick)"
    FAILED = "failed", "Failed"


class RetentionRun(models.Model):
    """One run of one kind for one organization (``None``: deployment-wide rows)."""

    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    days = models.PositiveIntegerField()
    cutoff = models.DateTimeField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=RetentionRunStatus.choices, default=RetentionRunStatus.RUNNING
    )
    removed = models.BigIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "kind", "-started_at"], name="retention_run_recent_idx"),
            models.Index(fields=["started_at"], name="retention_run_age_idx"),
        ]

    def __str__(self):
        return f"{self.kind} run {self.started_at:%Y-%m-%d %H:%M}"


class EventLogOutbox(models.Model):
    """Event-log entries that could not reach MongoDB yet (audit/eventlog/shipping.py): written when
    MongoDB fails or a process's buffer is full, moved there by the ``audit.eventlog_drain`` tick."""

    collection = models.CharField(max_length=64)
    # Extended JSON (bson.json_util): datetimes and ids come back as they went in.
    documents = models.TextField()
    count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.count} {self.collection} entries"
