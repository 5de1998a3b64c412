"""The only module that talks to django-guardian: object grants beyond a member's role.

Views, the API and services call these helpers (usually through ``Actor.can``), never guardian.
"""

from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from opsplatform.core.capabilities import OBJECT_GRANT_ACTION


def _perm_for(capability: str, obj) -> str | None:
    action = OBJECT_GRANT_ACTION.get(capability)
    if action is None:
        return None
    return f"{obj._meta.app_label}.{action}_{obj._meta.model_name}"


def has_object_grant(user, capability: str, obj) -> bool:
    perm = _perm_for(capability, obj)
    return bool(perm) and user.has_perm(perm, obj)


def grant_object_capability(user, capability: str, obj) -> None:
    perm = _perm_for(capability, obj)
    if perm is None:
        raise ValueError(f"{capability} cannot be granted on a single object")
    assign_perm(perm, user, obj)
    if perm.split(".", 1)[1].startswith("change_"):
        # Whoever may change an object may see it.
        assign_perm(_perm_for_action("view", obj), user, obj)


def revoke_object_capability(user, capability: str, obj) -> None:
    perm = _perm_for(capability, obj)
    if perm:
        remove_perm(perm, user, obj)


def objects_granted(user, capability: str, queryset):
    """Objects of ``queryset`` on which ``user`` holds an object grant for ``capability``."""
    action = OBJECT_GRANT_ACTION.get(capability)
    if action is None:
        return queryset.none()
    model = queryset.model
    perm = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
    return get_objects_for_user(user, perm, klass=queryset, accept_global_perms=False)


def _perm_for_action(action: str, obj) -> str:
    return f"{obj._meta.app_label}.{action}_{obj._meta.model_name}"
