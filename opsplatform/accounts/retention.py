"""Account data past retention (kinds ``expired_tokens``, ``expired_invitations`` and
``expired_sessions`` in ``audit.retention.registry``)."""

from django.contrib.sessions.models import Session
from django.db.models import Q

from opsplatform.accounts.models import ApiToken, Invitation


def tokens_past(organization_id, cutoff):
    return ApiToken.objects.filter(organization_id=organization_id).filter(
        Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)
    )


def invitations_past(organization_id, cutoff):
    """Expired or revoked before the cutoff; an accepted invitation is the record of how someone joined."""
    return Invitation.objects.filter(organization_id=organization_id, accepted_at__isnull=True).filter(
        Q(revoked_at__lt=cutoff) | Q(expires_at__lt=cutoff)
    )


def sessions_past(organization_id, cutoff):
    return Session.objects.filter(expire_date__lt=cutoff)
