"""Spaces, articles and their revisions, attachments, runbook step checks, per-organization settings.

The search vector is a stored generated column (see migration 0002): it is computed by PostgreSQL from
``search_config``, ``title`` (weight A) and ``body`` (weight B), so it can never drift from the text.
"""

import os

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from opsplatform.core.tenancy import TenantModel

DEFAULT_SEARCH_CONFIG = "english"
DEFAULT_STALE_DAYS = 90


class RegConfigField(models.CharField):
    """A PostgreSQL ``regconfig`` (text search configuration name).

    Stored as that type so the generated search vector can use it: ``to_tsvector(regconfig, text)``
    is immutable, a cast from text to regconfig is not.
    """

    def db_type(self, connection):
        return "regconfig"

    def from_db_value(self, value, expression, connection):
        return None if value is None else str(value)


class KnowledgeSettings(TenantModel):
    search_config = models.CharField(
        max_length=63,
        default=DEFAULT_SEARCH_CONFIG,
        help_text="PostgreSQL text search configuration (stemming language), e.g. english, german.",
    )
    # A runbook nobody reviewed or edited for this long is flagged stale (validated 1..3650 on write).
    runbook_stale_days = models.PositiveIntegerField(default=DEFAULT_STALE_DAYS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="knowledge_settings_one_per_org")
        ]

    def __str__(self):
        return f"Knowledge settings of {self.organization}"


class SpaceKind(models.TextChoices):
    ORGANIZATION = "organization", "Organization-wide"
    TEAM = "team", "Team"
    PRIVATE = "private", "Private drafts"


class Space(TenantModel):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    kind = models.CharField(max_length=16, choices=SpaceKind.choices)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="knowledge_space_slug_unique"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(kind="organization"), name="knowledge_one_org_space"
            ),
            models.UniqueConstraint(
                fields=["organization", "owner"],
                condition=Q(kind="private"),
                name="knowledge_one_private_space",
            ),
            models.CheckConstraint(
                condition=Q(kind="team", team__isnull=False, owner__isnull=True)
                | Q(kind="private", owner__isnull=False, team__isnull=True)
                | Q(kind="organization", team__isnull=True, owner__isnull=True),
                name="knowledge_space_kind_shape",
            ),
        ]

    def __str__(self):
        return self.name


class Article(TenantModel):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    services = models.ManyToManyField("incidents.Service", blank=True, related_name="+")
    # None: a plain article; a dict: a runbook with its selectors (see knowledge/runbooks.py).
    runbook_for = models.JSONField(null=True, blank=True)
    # Copied from the organization's settings on save; the generated search vector reads it.
    search_config = RegConfigField(max_length=63, default=DEFAULT_SEARCH_CONFIG)
    current_revision = models.ForeignKey(
        "knowledge.ArticleRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A runbook confirmed still right without an edit ("Mark reviewed"): restarts its stale clock.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-updated_at"], name="knowledge_article_recent"),
            models.Index(fields=["space", "-updated_at"], name="knowledge_article_space"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_runbook(self) -> bool:
        return self.runbook_for is not None

    @property
    def last_confirmed_at(self):
        """When someone last vouched for the text: its last edit or review."""
        return max(filter(None, [self.updated_at, self.reviewed_at]))


class ArticleRevision(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    runbook_for = models.JSONField(null=True, blank=True)
    message = models.CharField(max_length=255, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="knowledge_revision_number_unique")
        ]

    def __str__(self):
        return f"{self.article_id} r{self.number}"


class AttachmentStorage(FileSystemStorage):
    """Files under ``KNOWLEDGE_MEDIA_ROOT``, read on every use (a deployment or a test may change it);
    no base URL, so nothing is ever reachable except through the access-checked download view."""

    @property
    def base_location(self):
        return settings.KNOWLEDGE_MEDIA_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def attachment_storage():
    return AttachmentStorage()


def attachment_path(instance, filename):
    return (
        f"knowledge/{instance.organization_id}/{instance.article_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"
    )


class Attachment(TenantModel):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=attachment_path, storage=attachment_storage, max_length=500)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RunbookStepCheck(TenantModel):
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    revision = models.ForeignKey(ArticleRevision, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveIntegerField()
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "revision", "step"], name="knowledge_step_check_once")
        ]


class RunbookShown(TenantModel):
    """A runbook was shown on an incident's page (once per pair): what effectiveness counts as
    "shown", beside the incidents where a step was ticked ("used")."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    first_shown_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "incident"], name="knowledge_runbook_shown_once")
        ]
