from opsplatform.core.capabilities import capabilities_of


def organization(request):
    actor = getattr(request, "actor", None)
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        "memberships": getattr(request, "memberships", []),
        "actor": actor,
        # What the viewer's role may do: navigation shows only what will not answer 403.
        "caps": capabilities_of(getattr(actor, "role", None)),
    }
