from opsplatform.accounts.models import Membership, Organization


def organizations_of(user):
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user).order_by("name")


def memberships_of(user):
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")
