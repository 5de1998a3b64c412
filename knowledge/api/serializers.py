from rest_framework import serializers

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


class ArticleSerializer(serializers.ModelSerializer):
    revision = serializers.IntegerField(source="current_revision_id", read_only=True, allow_null=True)
    revision_number = serializers.IntegerField(
        source="current_revision.number", read_only=True, allow_null=True, default=None
    )
    html = serializers.SerializerMethodField(help_text="The body rendered from Markdown and sanitized.")

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
        ]
        read_only_fields = fields

    def get_html(self, article) -> str:
        return render_markdown(article.body)


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


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ArticleRevision
        fields = ["id", "number", "title", "message", "author", "created_at", "restored_from"]
        read_only_fields = fields


class RestoreSerializer(StrictSerializer):
    revision = serializers.IntegerField(min_value=1, help_text="Id of the revision to bring back.")
