"""The check every ingestion service makes of the objects a caller names."""


def check_same_organization(organization, obj, field: str, errors: dict) -> None:
    """A related object of another organization is reported as missing, never as forbidden."""
    if obj is not None and obj.organization_id != organization.pk:
        errors[field] = "Not found."
