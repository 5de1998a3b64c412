"""Reading the ledger: one organization's entries, filtered, and one object's timeline.

Every query here takes the organization (or the target, whose organization it carries) so no
caller can forget the tenant boundary.
"""

from django.db.models import Q, QuerySet

from audit.models import LedgerEntry
from opsplatform.accounts.models import ApiToken, Organization
from opsplatform.core.actors import ActorKind


def target_key(target) -> tuple[str, str]:
    """How the ledger names a model instance: ``("app_label.model", "pk")``."""
    return f"{target._meta.app_label}.{target._meta.model_name}", str(target.pk)


def ledger_entries(
    *,
    organization,
    actor_type: str = "",
    actor_id: str = "",
    performed_by=None,
    verb: str = "",
    verb_prefix: str = "",
    target_type: str = "",
    target_id: str = "",
    since=None,
    until=None,
) -> QuerySet[LedgerEntry]:
    """Entries of ``organization``, newest first; ``since`` is inclusive, ``until`` exclusive.

    ``performed_by`` is a user: what they did themselves and through their API tokens.
    """
    entries = LedgerEntry.objects.filter(organization=organization)
    if actor_type:
        entries = entries.filter(actor_type=actor_type)
    if actor_id:
        entries = entries.filter(actor_id=str(actor_id))
    if performed_by is not None:
        token_ids = ApiToken.objects.filter(organization=organization, user=performed_by).values_list(
            "pk", flat=True
        )
        entries = entries.filter(
            Q(actor_type=ActorKind.USER, actor_id=str(performed_by.pk))
            | Q(actor_type=ActorKind.API_TOKEN, actor_id__in=[str(pk) for pk in token_ids])
        )
    if verb:
        entries = entries.filter(verb=verb)
    if verb_prefix:
        entries = entries.filter(verb__startswith=verb_prefix)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=str(target_id))
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries.order_by("-sequence")


def timeline_for(target) -> QuerySet[LedgerEntry]:
    """Every entry about ``target`` in the order it happened (its organization's chain order).

    Served by the (organization, target_type, target_id, sequence) index.
    """
    target_type, target_id = target_key(target)
    # An organization's own events live in its chain; anything else without one is platform-level.
    if isinstance(target, Organization):
        organization_id = target.pk
    else:
        organization_id = getattr(target, "organization_id", None)
    return LedgerEntry.objects.filter(
        organization_id=organization_id, target_type=target_type, target_id=target_id
    ).order_by("sequence")
