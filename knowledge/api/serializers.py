from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from knowledge.effectiveness import runbook_figures
from knowledge.models import Article, ArticleRevision, Space
from opsplatform.api.serializers import StrictSerializer
from opsplatform.core.markdown import render_markdown


class SpaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Space
        fields = ["id", "name", "slug", "kind", "team", "description", "created_at"]
        read_only_fields = ["id", "slug", "kind", "created_at"]


class SpaceCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120)
    team = serializers.IntegerField(min_value=1, help_text="The team the space belongs to.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class TimingSerializer(serializers.Serializer):
    incidents = serializers.IntegerField(help_text="Resolved incidents in the group.")
    mtta_seconds = serializers.FloatField(
        source="mtta", allow_null=True, help_text="Mean time to acknowledge; null without any."
    )
    mttr_seconds = serializers.FloatField(
        source="mttr", allow_null=True, help_text="Mean time to resolve; null without any."
    )


class VerdictCountsSerializer(serializers.Serializer):
    helped = serializers.IntegerField(help_text="Postmortems that said the runbook helped.")
    wrong = serializers.IntegerField(help_text="Postmortems that said it was wrong or outdated.")
    not_used = serializers.IntegerField(help_text="Postmortems that said it was not used.")


class EffectivenessSerializer(serializers.Serializer):
    shown = serializers.IntegerField(
        help_text="Incidents whose page showed the runbook (it is shown where it matches), "
        "including those where a step was ticked."
    )
    used = serializers.IntegerField(help_text="Incidents where one of its steps was ticked.")
    steps_ticked = serializers.IntegerField()
    with_runbook = TimingSerializer(help_text="The resolved incidents that used it.")
    without_runbook = TimingSerializer(help_text="The resolved incidents it was shown on but not used.")
    verdicts = VerdictCountsSerializer(help_text="What postmortems said of it.")


class ArticleSerializer(serializers.ModelSerializer):
    """One article. ``stale``, ``stale_reason`` and ``effectiveness`` cost a few queries per article:
    a serializer for one article answers them, lists carry only ``stale`` (``SearchHitSerializer``)."""

    revision = serializers.IntegerField(source="current_revision_id", read_only=True, allow_null=True)
    revision_number = serializers.IntegerField(
        source="current_revision.number", read_only=True, allow_null=True, default=None
    )
    html = serializers.SerializerMethodField(help_text="The body rendered from Markdown and sanitized.")
    stale = serializers.SerializerMethodField(
        help_text="A runbook nobody edited or reviewed for the organization's limit, one of whose "
        "services changed since, or one a postmortem said was wrong since; always false for a plain "
        "article."
    )
    stale_reason = serializers.SerializerMethodField(help_text="Why it is stale; null when it is not.")
    effectiveness = serializers.SerializerMethodField(
        help_text="How the runbook does on its incidents; null for a plain article."
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "space",
            "title",
            "body",
            "html",
            "tags",
            "services",
            "runbook_for",
            "revision",
            "revision_number",
            "created_at",
            "updated_at",
            "stale",
            "stale_reason",
            "effectiveness",
        ]
        read_only_fields = fields

    def get_html(self, article) -> str:
        return render_markdown(article.body)

    def _figures(self, article):
        # Three fields read one computation.
        cache = self.__dict__.setdefault("_runbook_figures", {})
        if article.pk not in cache:
            cache[article.pk] = runbook_figures(article)
        return cache[article.pk]

    def get_stale(self, article) -> bool:
        return self._figures(article)[0].stale

    def get_stale_reason(self, article) -> str | None:
        return "; ".join(self._figures(article)[0].reasons) or None

    @extend_schema_field(EffectivenessSerializer(allow_null=True))
    def get_effectiveness(self, article):
        effect = self._figures(article)[1]
        return EffectivenessSerializer(effect).data if effect is not None else None


class ArticleWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=255, required=False)
    body = serializers.CharField(allow_blank=True, required=False, max_length=500_000)
    space = serializers.IntegerField(min_value=1, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20)
    services = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100
    )
    runbook_for = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='Runbook selectors: {"services": [ids], "severities": ["sev1"], '
        '"labels": {"name": "value" or {"op": "regex", "value": "…"}}}; null for a plain article.',
    )
    message = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ArticleCreateSerializer(ArticleWriteSerializer):
    title = serializers.CharField(max_length=255)
    body = serializers.CharField(allow_blank=True, max_length=500_000)


class ArticleUpdateSerializer(ArticleWriteSerializer):
    base_revision = serializers.IntegerField(
        help_text="The revision id the change was made on; a save on an outdated base answers 409."
    )


class SearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    snippet = serializers.CharField(help_text="Escaped text with the matches inside <mark>…</mark>.")
    rank = serializers.FloatField()
    fuzzy = serializers.BooleanField(help_text="True when found by title similarity (a typo), not full text.")
    stale = serializers.BooleanField(help_text="A stale runbook (see the article's `stale_reason`).")


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ArticleRevision
        fields = ["id", "number", "title", "message", "author", "created_at", "restored_from"]
        read_only_fields = fields


class RestoreSerializer(StrictSerializer):
    revision = serializers.IntegerField(min_value=1, help_text="Id of the revision to bring back.")
