"""The one permission class of the API: each view declares the capability every action needs.

::

    class TeamViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
        capabilities = {
            "list": Capability.TEAM_VIEW,
            "retrieve": Capability.TEAM_VIEW,
            "create": Capability.TEAM_MANAGE,
            "members": Capability.TEAM_MANAGE,  # a custom @action, by its name
            ...
        }

Viewsets key by action name; plain ``APIView`` subclasses key by lower-case HTTP method (``"get"``,
``"post"``). An action without an entry is refused and logged as an error: forgetting to declare
one must close the door, not open it.
"""

import logging

from rest_framework.permissions import BasePermission

from opsplatform.api.authentication import request_actor
from opsplatform.core.capabilities import OBJECT_GRANT_ACTION

logger = logging.getLogger(__name__)


def _capability_key(request, view) -> tuple[str | None, bool]:
    """(the key to look up in ``view.capabilities``, whether a missing entry is a programming error)."""
    method = request.method.lower()
    action_map = getattr(view, "action_map", None)
    if action_map is None:
        declared = view.capabilities
        if method == "head" and "head" not in declared:
            return "get", True
        if method == "options" and "options" not in declared:
            return "get", False
        return method, True
    # The method decides, not ``view.action``: the browsable API and OPTIONS metadata probe other
    # methods with a cloned request while ``view.action`` stays put.
    if method in action_map:
        return action_map[method], True
    if method == "options" and action_map:
        # Describing a route needs what reading it needs (or its only action, for write-only routes).
        return action_map.get("get") or next(iter(action_map.values())), False
    return None, False


def _handler_missing(request, view) -> bool:
    """True when dispatch will answer 405: permission must not turn that into a 403."""
    method = request.method.lower()
    return method not in view.http_method_names or getattr(view, method, None) is None


def _is_detail(view) -> bool:
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    return bool(lookup) and lookup in getattr(view, "kwargs", {})


class HasCapability(BasePermission):
    message = "You do not have permission to perform this action."

    def required_capability(self, request, view) -> str | None:
        capabilities = getattr(view, "capabilities", None)
        if capabilities is None:
            logger.error("API view %s declares no capabilities; refusing", type(view).__name__)
            return None
        key, must_exist = _capability_key(request, view)
        capability = capabilities.get(key) if key else None
        if capability is None and must_exist:
            logger.error(
                "API view %s declares no capability for %r; refusing",
                type(view).__name__,
                key or request.method,
            )
        return capability

    def has_permission(self, request, view):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False  # DRF answers 401 because an authenticator was on offer
        if _handler_missing(request, view):
            return True  # dispatch answers 405 with the Allow header
        actor = request_actor(request)
        if actor is None or actor.organization is None:
            self.message = "You are not a member of any organization."
            return False
        capability = self.required_capability(request, view)
        if capability is None:
            return False
        if actor.can(capability):
            return True
        # A member without the role may still hold a grant on the one object a detail route
        # addresses; get_object() settles that in has_object_permission.
        return _is_detail(view) and actor.role is not None and capability in OBJECT_GRANT_ACTION

    def has_object_permission(self, request, view, obj):
        actor = request_actor(request)
        if actor is None or actor.organization is None:
            return False
        capability = self.required_capability(request, view)
        return capability is not None and actor.can(capability, obj)
