"""The base of every tenant-scoped viewset.

Reads are scoped to the caller's organization, so another tenant's object is a 404. Writes never
call ``serializer.save()``: the serializer validates the shape, then a service function (which checks
the capability again, writes in one transaction and records the ledger entry) does the work::

    class TeamViewSet(TenantViewSetMixin, mixins.CreateModelMixin, ..., viewsets.GenericViewSet):
        queryset = Team.objects.all()
        serializer_class = TeamSerializer
        capabilities = {"list": Capability.TEAM_VIEW, "create": Capability.TEAM_MANAGE, ...}

        def service_create(self, *, actor, data):
            return services.team_create(actor=actor, **data)

        def service_update(self, *, actor, instance, data):
            return services.team_update(actor=actor, team=instance, **data)

        def service_destroy(self, *, actor, instance):
            services.team_delete(actor=actor, team=instance)

Custom actions call their service inside ``with service_errors():`` so a Django ``ValidationError``
becomes a 400 with field detail and ``PermissionDenied`` a 403 (the exception handler maps them too;
the context manager also lets an action rename a service's field key to the API's name).
"""

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, mixins, viewsets
from rest_framework.response import Response

from opsplatform.api.authentication import request_actor
from opsplatform.api.problems import django_validation_detail
from opsplatform.core.actors import Actor
from opsplatform.core.ids import parse_id


def validation_error_from_django(exc: DjangoValidationError, field_map: dict | None = None):
    detail = django_validation_detail(exc)
    if field_map:
        detail = {field_map.get(key, key): value for key, value in detail.items()}
    return exceptions.ValidationError(detail)


@contextmanager
def service_errors(field_map: dict[str, str] | None = None):
    """Turn a service's Django exceptions into DRF ones (400 with field detail, 403)."""
    try:
        yield
    except DjangoValidationError as exc:
        raise validation_error_from_django(exc, field_map) from exc
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc) or None) from exc


class ActorViewMixin:
    """``self.actor``: who is calling, as the authenticators resolved it."""

    @property
    def actor(self) -> Actor | None:
        return request_actor(self.request)

    @property
    def organization(self):
        actor = self.actor
        return actor.organization if actor is not None else None


class TenantViewSetMixin(ActorViewMixin):
    # Maps a service's field names to the serializer's, for errors raised by service_* hooks.
    service_field_map: dict[str, str] = {}

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()  # schema generation: there is no caller to scope to
        organization = self.organization
        if organization is None:
            return queryset.none()
        if hasattr(queryset, "for_organization"):
            return queryset.for_organization(organization)
        return queryset.filter(organization=organization)

    # --- writes go through services -------------------------------------------------------------
    def service_create(self, *, actor: Actor, data: dict):
        raise NotImplementedError(f"{type(self).__name__} must implement service_create()")

    def service_update(self, *, actor: Actor, instance, data: dict):
        raise NotImplementedError(f"{type(self).__name__} must implement service_update()")

    def service_destroy(self, *, actor: Actor, instance) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement service_destroy()")

    def perform_create(self, serializer):
        with service_errors(self.service_field_map):
            serializer.instance = self.service_create(actor=self.actor, data=serializer.validated_data)

    def perform_update(self, serializer):
        with service_errors(self.service_field_map):
            serializer.instance = self.service_update(
                actor=self.actor, instance=serializer.instance, data=serializer.validated_data
            )

    def perform_destroy(self, instance):
        with service_errors(self.service_field_map):
            self.service_destroy(actor=self.actor, instance=instance)


class TenantCrudViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create, PATCH and delete one organization's objects through the service hooks.

    No PUT: a partial update names what it changes. Serializers get the organization in their
    context, to scope the related objects they accept.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    #: the serializer for PATCH, when it accepts other fields than creation does
    update_serializer_class = None
    #: list filters by related id: query parameter -> model field (e.g. {"service": "service_id"})
    list_id_filters: dict[str, str] = {}

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organization": self.organization}

    def get_serializer_class(self):
        if self.action == "partial_update" and self.update_serializer_class is not None:
            return self.update_serializer_class
        return super().get_serializer_class()

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        for param, field in self.list_id_filters.items():
            value = self.request.query_params.get(param)
            if value is None:
                continue
            row_id = parse_id(value)
            if row_id is None:
                raise exceptions.ValidationError({param: ["An id."]})
            queryset = queryset.filter(**{field: row_id})
        return queryset


NO_STORE = {"Cache-Control": "no-store"}


class IssuesSecretMixin:
    """Create (and rotate) answer with a secret that is shown once and never again: integration keys,
    signing secrets, invitation links, API tokens. The answer must not be kept by any cache.

    A viewset names ``issued_serializer_class`` and implements ``issue`` (the service call that
    creates the object and its secret) and ``issued_parts`` (the object and the serializer context
    that carries the secret); a rotate action calls the service and returns ``self.issued(issued)``.
    """

    issued_serializer_class = None

    def issue(self, *, actor: Actor, data: dict):
        raise NotImplementedError(f"{type(self).__name__} must implement issue()")

    def issued_parts(self, issued) -> tuple[object, dict]:
        raise NotImplementedError(f"{type(self).__name__} must implement issued_parts()")

    def issued(self, issued, status: int = 200):
        instance, secret_context = self.issued_parts(issued)
        context = {**self.get_serializer_context(), **secret_context}
        body = self.issued_serializer_class(instance, context=context).data
        return Response(body, status=status, headers=NO_STORE)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors(getattr(self, "service_field_map", None)):
            issued = self.issue(actor=self.actor, data=dict(serializer.validated_data))
        return self.issued(issued, status=201)
