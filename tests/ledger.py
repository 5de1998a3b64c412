"""Reading the ledger in tests: which entries a change wrote, in the order it wrote them."""

from audit.models import LedgerEntry


def entries(verb: str | None = None, *, target=None, prefix: str = "", **filters):
    """Ledger entries, oldest first: of ``verb`` (or every verb starting with ``prefix``), on ``target``."""
    queryset = LedgerEntry.objects.filter(**filters)
    if verb is not None:
        queryset = queryset.filter(verb=verb)
    if prefix:
        queryset = queryset.filter(verb__startswith=prefix)
    if target is not None:
        label = f"{target._meta.app_label}.{target._meta.model_name}"
        queryset = queryset.filter(target_type=label, target_id=str(target.pk))
    return queryset.order_by("organization_id", "sequence")


def verbs(target, prefix: str = "") -> list[str]:
    """The verbs written on ``target``, in order (only those starting with ``prefix`` when given)."""
    return list(entries(target=target, prefix=prefix).values_list("verb", flat=True))
