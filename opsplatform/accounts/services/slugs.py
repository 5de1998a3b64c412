"""Slugs for names in any script: the ASCII slug of the name when it has one, else a numbered
fallback (``team-1``), and a number appended until it is free."""

from django.utils.text import slugify

# Room for "-<n>" within the 80-character column.
_BASE_LENGTH = 70


def unique_slug(name: str, *, queryset, fallback: str) -> str:
    """A slug not used by any row of ``queryset`` (already narrowed to the uniqueness scope).

    ``slugify`` keeps ASCII only, so "运维" gives "" and "SRE 运维" gives "sre". A name without
    any ASCII letter gets ``<fallback>-<n>``: numbered from 1, so the first such name reads as a
    number too rather than a bare "team" that looks like a real name. Callers serialize concurrent
    creations (a lock, or a retry on the unique constraint): this only reads.
    """
    base = slugify(name)[:_BASE_LENGTH].strip("-")
    prefix = base or fallback
    taken = set(queryset.filter(slug__startswith=prefix).values_list("slug", flat=True))
    if base and base not in taken:
        return base
    n = 1 if not base else 2
    while f"{prefix}-{n}" in taken:
        n += 1
    return f"{prefix}-{n}"
