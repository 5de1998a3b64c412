"""The REST API base every app's ``/api/v1/`` endpoints build on.

What an app's API module uses (all wired as DRF defaults in ``REST_FRAMEWORK``):

* ``viewsets.TenantViewSetMixin``: queryset scoped to ``request.actor.organization`` (another
  tenant's object is a 404); writes through ``service_create/service_update/service_destroy``
  hooks that receive the actor; ``service_errors()`` for custom actions.
* ``capabilities = {action: Capability.X}`` on every view, enforced by ``permissions.HasCapability``.
* ``serializers.StrictModelSerializer`` / ``StrictSerializer`` (unknown or read-only input is a 400)
  and ``serializers.TimeZoneField``.
* ``pagination.DefaultPagination`` (page numbers) or ``TimeOrderedCursorPagination`` (large,
  time-ordered lists).
* Errors are problem+json (``problems``); raise DRF or Django exceptions, never build error bodies
  by hand. Plain Django views under ``/api/`` or ``/v2/`` answer with ``problems.problem_response``.
"""
