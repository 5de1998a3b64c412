from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from audit.services import record
from knowledge.models import Article, KnowledgeSettings, Space, SpaceKind
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

ORGANIZATION_SPACE_NAME = "General"


def organization_space(organization) -> Space:
    """The organization-wide space, made on first use (a partial unique index keeps it single)."""
    space = Space.objects.filter(organization=organization, kind=SpaceKind.ORGANIZATION).first()
    if space is not None:
        return space
    try:
        with transaction.atomic():
            return Space.objects.create(
                organization=organization,
                kind=SpaceKind.ORGANIZATION,
                name=ORGANIZATION_SPACE_NAME,
                slug="general",
            )
    except IntegrityError:
        return Space.objects.get(organization=organization, kind=SpaceKind.ORGANIZATION)


def private_space(actor: Actor) -> Space:
    """The actor's own drafts space, made on first use."""
    space = Space.objects.filter(
        organization=actor.organization, kind=SpaceKind.PRIVATE, owner=actor.user
    ).first()
    if space is not None:
        return space
    try:
        with transaction.atomic():
            return Space.objects.create(
                organization=actor.organization,
                kind=SpaceKind.PRIVATE,
                owner=actor.user,
                name=f"Drafts of {actor.user.username}",
                slug=f"drafts-{actor.user.pk}",
            )
    except IntegrityError:
        return Space.objects.get(organization=actor.organization, kind=SpaceKind.PRIVATE, owner=actor.user)


def space_create(*, actor: Actor, name: str, team, description: str = "") -> Space:
    """A team space is a manager's decision (the organization-wide and drafts spaces make themselves)."""
    actor.require(Capability.KNOWLEDGE_MANAGE)
    if team is None:
        raise ValidationError({"team": "A new space belongs to a team."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A space needs a name."})
    if team is not None and team.organization_id != actor.organization.pk:
        raise ValidationError({"team": "No such team."})
    slug = slugify(name)[:100] or "space"
    base, n = slug, 1
    while Space.objects.filter(organization=actor.organization, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    with transaction.atomic():
        space = Space.objects.create(
            organization=actor.organization,
            kind=SpaceKind.TEAM,
            team=team,
            name=name,
            slug=slug,
            description=description,
        )
        record(
            actor=actor, verb="knowledge.space_created", target=space, data={"name": name, "team": team.pk}
        )
    return space


def search_config_of(organization) -> str:
    settings_row = KnowledgeSettings.objects.filter(organization=organization).first()
    return (
        settings_row.search_config
        if settings_row
        else KnowledgeSettings._meta.get_field("search_config").default
    )


def knowledge_settings_update(*, actor: Actor, search_config: str) -> KnowledgeSettings:
    """Change the search language; every article of the organization is re-indexed in the same
    transaction (the generated column follows ``search_config``)."""
    actor.require(Capability.KNOWLEDGE_MANAGE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [search_config])
        if cursor.fetchone() is None:
            raise ValidationError({"search_config": f"Unknown text search configuration {search_config!r}."})
    with transaction.atomic():
        row, _ = KnowledgeSettings.objects.select_for_update().get_or_create(organization=actor.organization)
        previous = row.search_config
        if previous == search_config:
            return row
        row.search_config = search_config
        row.save(update_fields=["search_config"])
        Article.objects.filter(organization=actor.organization).update(search_config=search_config)
        record(
            actor=actor,
            verb="knowledge.settings_updated",
            target=row,
            data={"search_config": search_config, "previous": previous},
        )
    return row
