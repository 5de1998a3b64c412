"""``/api/v1/`` organizations, teams, members, invitations and API tokens.

Every write goes through ``opsplatform.accounts.services``; these views only shape input and output.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from opsplatform.accounts import services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from opsplatform.accounts.selectors import organizations_of
from opsplatform.api import account_serializers as s
from opsplatform.api.viewsets import ActorViewMixin, IssuesSecretMixin, TenantViewSetMixin, service_errors
from opsplatform.core.actors import ActorKind
from opsplatform.core.capabilities import Capability

ID_PATTERN = r"[0-9]+"


# --- organizations -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List your organizations",
        description="Organizations the caller belongs to; a token sees only its own.",
    ),
    retrieve=extend_schema(summary="Retrieve an organization"),
    partial_update=extend_schema(
        summary="Update the current organization",
        description="Name, time zone and the two-factor policy. Only the organization the caller is "
        "working in (a token's own) can be changed.",
    ),
)
class OrganizationViewSet(
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Organization.objects.all()
    serializer_class = s.OrganizationSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "patch", "head", "options"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.ORGANIZATION_VIEW,
        "retrieve": Capability.ORGANIZATION_VIEW,
        "current": Capability.ORGANIZATION_VIEW,
        "partial_update": Capability.ORGANIZATION_MANAGE,
    }

    def get_queryset(self):
        actor = self.actor
        if getattr(self, "swagger_fake_view", False) or actor is None or actor.organization is None:
            return Organization.objects.none()
        if actor.kind == ActorKind.API_TOKEN:
            return Organization.objects.filter(pk=actor.organization.pk)
        return organizations_of(actor.user)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        # The actor's role is its role in the organization it works in; it says nothing about
        # another organization the same person belongs to.
        if self.action == "partial_update" and obj.pk != self.organization.pk:
            raise PermissionDenied("Switch to this organization to change it.")

    def perform_update(self, serializer):
        with service_errors():
            serializer.instance = services.organization_update(
                actor=self.actor, organization=serializer.instance, **serializer.validated_data
            )

    @extend_schema(
        summary="The current organization",
        description="The organization the caller works in (a token's own).",
        responses=s.OrganizationSerializer,
    )
    @action(detail=False, methods=["get"])
    def current(self, request):
        return Response(self.get_serializer(self.organization).data)


# --- teams -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List teams"),
    retrieve=extend_schema(summary="Retrieve a team"),
    create=extend_schema(summary="Create a team"),
    update=extend_schema(summary="Replace a team's details"),
    partial_update=extend_schema(summary="Update a team"),
    destroy=extend_schema(summary="Delete a team"),
)
class TeamViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    queryset = Team.objects.prefetch_related("members")
    serializer_class = s.TeamSerializer
    lookup_value_regex = ID_PATTERN
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]
    capabilities = {
        "list": Capability.TEAM_VIEW,
        "retrieve": Capability.TEAM_VIEW,
        "create": Capability.TEAM_MANAGE,
        "update": Capability.TEAM_MANAGE,
        "partial_update": Capability.TEAM_MANAGE,
        "destroy": Capability.TEAM_MANAGE,
        "members": Capability.TEAM_MANAGE,
    }

    def service_create(self, *, actor, data):
        return services.team_create(actor=actor, **data)

    def service_update(self, *, actor, instance, data):
        return services.team_update(actor=actor, team=instance, **data)

    def service_destroy(self, *, actor, instance):
        services.team_delete(actor=actor, team=instance)

    @extend_schema(
        summary="Set a team's members",
        description="Replaces the member list with the given user ids, each a member of the organization.",
        request=s.TeamMembersSerializer,
        responses=s.TeamSerializer,
    )
    @action(detail=True, methods=["put"])
    def members(self, request, pk=None):
        team = self.get_object()
        serializer = s.TeamMembersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = serializer.validated_data["members"]
        # Resolved among this organization's members only: an id from elsewhere reads as unknown,
        # whether or not such a user exists.
        users = list(User.objects.filter(pk__in=wanted, memberships__organization=self.organization))
        missing = sorted(set(wanted) - {user.pk for user in users})
        if missing:
            ids = ", ".join(str(pk) for pk in missing)
            raise ValidationError({"members": [f"Not members of this organization: {ids}."]})
        with service_errors():
            services.team_set_members(actor=self.actor, team=team, users=users)
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data)


# --- members -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List members"),
    retrieve=extend_schema(summary="Retrieve a member"),
    partial_update=extend_schema(
        summary="Change a member's role",
        description="Making or unmaking an owner also needs `member.manage_owners`. Nobody grants a role "
        "above their own, and the last owner cannot be demoted.",
        request=s.MembershipRoleSerializer,
        responses=s.MembershipSerializer,
    ),
    destroy=extend_schema(
        summary="Remove a member",
        description="Removes the member from the organization, their teams, and revokes their tokens here. "
        "Removing someone else also needs `member.manage`; leaving needs nothing more. "
        "The last owner cannot be removed.",
    ),
)
class MemberViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Membership.objects.select_related("user")
    serializer_class = s.MembershipSerializer
    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "patch", "delete", "head", "options"]
    filterset_fields = ["role"]
    ordering_fields = ["created_at", "user__username", "role"]
    ordering = ["user__username"]
    capabilities = {
        "list": Capability.MEMBER_VIEW,
        "retrieve": Capability.MEMBER_VIEW,
        "partial_update": Capability.MEMBER_MANAGE,
        # Anyone may leave; removing someone else is checked by the service (member.manage).
        "destroy": Capability.MEMBER_VIEW,
    }
    service_field_map = {"membership": "non_field_errors"}

    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = s.MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            membership = services.membership_change_role(
                actor=self.actor, membership=membership, role=serializer.validated_data["role"]
            )
        return Response(s.MembershipSerializer(membership).data)

    def service_destroy(self, *, actor, instance):
        services.membership_remove(actor=actor, membership=instance)


# --- invitations -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List invitations"),
    retrieve=extend_schema(summary="Retrieve an invitation"),
    create=extend_schema(
        summary="Invite someone",
        description="Creates an invitation (replacing a pending one for the same address). The response "
        "carries the one-time `accept_url`; it is never shown again. The role may not be above the "
        "inviter's.",
        responses={201: s.IssuedInvitationSerializer},
    ),
    destroy=extend_schema(summary="Revoke an invitation"),
)
class InvitationViewSet(
    IssuesSecretMixin,
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Invitation.objects.select_related("invited_by")
    serializer_class = s.InvitationSerializer
    lookup_value_regex = ID_PATTERN
    ordering_fields = ["created_at", "email"]
    ordering = ["-created_at"]
    capabilities = {
        "list": Capability.MEMBER_INVITE,
        "retrieve": Capability.MEMBER_INVITE,
        "create": Capability.MEMBER_INVITE,
        "destroy": Capability.MEMBER_INVITE,
        "revoke": Capability.MEMBER_INVITE,
    }

    issued_serializer_class = s.IssuedInvitationSerializer

    def issue(self, *, actor, data):
        return services.invitation_create(actor=actor, **data)

    def issued_parts(self, issued):
        return issued.invitation, {"accept_url": settings.SITE_URL + issued.path}

    def service_destroy(self, *, actor, instance):
        services.invitation_revoke(actor=actor, invitation=instance)

    @extend_schema(
        summary="Revoke an invitation",
        description="Same as DELETE, answering with the revoked invitation.",
        request=None,
        responses=s.InvitationSerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        invitation = self.get_object()
        with service_errors():
            invitation = services.invitation_revoke(actor=self.actor, invitation=invitation)
        return Response(self.get_serializer(invitation).data)


# --- API tokens --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List API tokens",
        description="Your own tokens; with `token.manage`, every token of the organization. "
        "Secrets are never shown.",
    ),
    retrieve=extend_schema(
        summary="Retrieve an API token", description="Your own, or any with `token.manage`."
    ),
    create=extend_schema(
        summary="Create an API token",
        description="The response carries the `secret` (use it as `Authorization: Bearer <secret>`); it is "
        "never shown again. The token acts for you in this organization, with at most `role`.",
        responses={201: s.IssuedApiTokenSerializer},
    ),
    destroy=extend_schema(
        summary="Revoke an API token",
        description="Your own, or anyone's with `token.manage`. Revoked tokens stop working at once.",
        responses={204: OpenApiResponse(description="Revoked.")},
    ),
)
class ApiTokenViewSet(
    IssuesSecretMixin,
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ApiToken.objects.select_related("user")
    serializer_class = s.ApiTokenSerializer
    lookup_value_regex = ID_PATTERN
    ordering_fields = ["created_at", "last_used_at", "name"]
    ordering = ["-created_at"]
    capabilities = {
        "list": Capability.TOKEN_CREATE,
        "retrieve": Capability.TOKEN_CREATE,
        "create": Capability.TOKEN_CREATE,
        # Revoking your own needs nothing more; another's needs token.manage (the service checks).
        "destroy": Capability.TOKEN_CREATE,
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        actor = self.actor
        if actor is None or actor.user is None:
            return queryset.none()
        if not actor.can(Capability.TOKEN_MANAGE):
            queryset = queryset.filter(user=actor.user)
        return queryset

    issued_serializer_class = s.IssuedApiTokenSerializer

    def issue(self, *, actor, data):
        if not data.get("role") and actor.token is not None and actor.token.role:
            # A token cut down to a role mints tokens no stronger than itself; an empty role would
            # mean "as strong as the owner".
            data["role"] = actor.role
        return services.api_token_create(actor=actor, **data)

    def issued_parts(self, issued):
        return issued.token, {"secret": issued.secret}

    def service_destroy(self, *, actor, instance):
        services.api_token_revoke(actor=actor, token=instance)
