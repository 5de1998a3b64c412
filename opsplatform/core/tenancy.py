"""Tenant scoping: the base every organization-owned model and every lookup goes through.

Another organization's object answers 404 (never 403) so its existence does not leak.
"""

from django.db import models
from django.http import Http404


class TenantQuerySet(models.QuerySet):
    def for_organization(self, organization):
        return self.filter(organization=organization)

    def visible_to(self, user):
        """Rows of every organization the user belongs to (admin and cross-organization views)."""
        if user.is_superuser:
            return self
        return self.filter(organization__memberships__user=user).distinct()


class TenantModel(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


def get_in_organization_or_404(queryset, organization, **lookup):
    """The object with ``lookup`` inside ``organization``, or 404 whether it is missing or foreign."""
    if isinstance(queryset, type) and issubclass(queryset, models.Model):
        queryset = queryset._default_manager.all()
    try:
        return queryset.filter(organization=organization).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
