"""Postmortems: written sections with wiki-like revisions, a timeline copied from the ledger (each
row keeps its entry's sequence and hash), and action items that are workflows tasks."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

SECTIONS = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("contributing_factors", "Contributing factors"),
    ("went_well", "What went well"),
    ("lessons", "Lessons"),
)
SECTION_KEYS = tuple(key for key, _ in SECTIONS)


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class Postmortem(TenantModel):
    """``revision`` is the number of the latest revision: a save names the revision it started from
    and is refused when another save came first. ``facts`` hold what the ledger says (impact window,
    MTTA/MTTR, SLA outcome, services, responders) as of ``synced_at``."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    #: the incident it was drafted from and every incident merged into it
    incidents = models.ManyToManyField("incidents.Incident", related_name="+")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT)
    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    contributing_factors = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)
    facts = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)
    review_run = models.ForeignKey(
        "workflows.WorkflowRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_revision = models.PositiveIntegerField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="postmortem_recent_idx"),
            models.Index(fields=["organization", "status"], name="postmortem_status_idx"),
        ]
        constraints = [
            # One postmortem per incident: drafting again opens the one that exists.
            models.UniqueConstraint(fields=["incident"], name="postmortem_one_per_incident"),
        ]

    def __str__(self):
        return self.title

    def sections(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in SECTION_KEYS}


class PostmortemRevision(TenantModel):
    """What one save wrote (title and every section); a published revision never changes."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    sections = models.JSONField(default=dict)
    message = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="postmortem_revision_unique"),
        ]


class TimelineKind(models.TextChoices):
    STATE = "state", "State change"
    NOTE = "note", "Note"
    PAGE = "page", "Page"
    SLA = "sla", "SLA"
    PEOPLE = "people", "People"
    OTHER = "other", "Other"


class TimelineRow(TenantModel):
    """One ledger entry about one of the postmortem's incidents, as it stood when synced:
    ``sequence`` and ``entry_hash`` name the entry in its organization's chain, so the row can be
    checked against the ledger (``manage.py verify_postmortem``)."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="timeline")
    incident_id = models.BigIntegerField()
    sequence = models.BigIntegerField()
    entry_hash = models.CharField(max_length=64)
    verb = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=TimelineKind.choices)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    text = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["postmortem_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "sequence"], name="postmortem_timeline_unique"),
        ]


class ActionItem(TenantModel):
    """A follow-up of the postmortem; its owner, due time and status live on the task."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="action_items")
    task = models.OneToOneField("workflows.Task", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["postmortem_id", "id"]


class RunbookVerdictKind(models.TextChoices):
    HELPED = "helped", "Helped"
    WRONG = "wrong", "Wrong or outdated"
    NOT_USED = "not_used", "Not used"


class RunbookVerdict(TenantModel):
    """What the postmortem says about a runbook of its incidents. ``wrong`` flags the runbook stale
    (``knowledge.effectiveness``) until it is edited or reviewed after ``decided_at``."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="runbook_verdicts")
    article = models.ForeignKey("knowledge.Article", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=RunbookVerdictKind.choices)
    note = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["postmortem_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "article"], name="postmortem_runbook_verdict_unique"
            ),
        ]
        indexes = [
            # The stale flags of a page of runbooks read their "wrong" verdicts by article.
            models.Index(fields=["article", "verdict"], name="postmortem_verdict_article_idx"),
        ]
