"""Shapes of organizations, teams, members, invitations and API tokens in the REST API."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team, User
from opsplatform.api.serializers import StrictModelSerializer, StrictSerializer, TimeZoneField
from opsplatform.core.capabilities import Role


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email"]
        read_only_fields = fields


# --- organizations -----------------------------------------------------------------------------


class OrganizationSerializer(StrictModelSerializer):
    time_zone = TimeZoneField(required=False)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "time_zone", "require_2fa_for_admins", "created_at"]
        read_only_fields = ["id", "slug", "created_at"]
        extra_kwargs = {"name": {"required": False}}

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("An organization needs a name.")
        return value.strip()


# --- teams -------------------------------------------------------------------------------------


class TeamSerializer(StrictModelSerializer):
    time_zone = TimeZoneField(required=False)
    members = UserSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "description", "time_zone", "members", "created_at"]
        read_only_fields = ["id", "slug", "members", "created_at"]

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("A team needs a name.")
        return value.strip()


class TeamMembersSerializer(StrictSerializer):
    members = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=True,
        max_length=1000,
        help_text="User ids of the team's members (every one a member of the organization); "
        "replaces the current list.",
    )

    def validate_members(self, value):
        return list(dict.fromkeys(value))


# --- members -----------------------------------------------------------------------------------


class MembershipSerializer(StrictModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = ["id", "user", "created_at"]


class MembershipRoleSerializer(StrictModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["role"]


# --- invitations -------------------------------------------------------------------------------


class InvitationSerializer(StrictModelSerializer):
    status = serializers.SerializerMethodField()
    invited_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        # The one-pending-invitation constraint is the service's business: it replaces the old one.
        validators = []

    @extend_schema_field(serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"]))
    def get_status(self, invitation) -> str:
        return invitation.status


class IssuedInvitationSerializer(InvitationSerializer):
    accept_url = serializers.SerializerMethodField(
        help_text="The link that accepts the invitation. Returned only in this response: "
        "only its digest is kept."
    )

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "accept_url"]
        read_only_fields = [*InvitationSerializer.Meta.read_only_fields, "accept_url"]

    def get_accept_url(self, invitation) -> str:
        return self.context["accept_url"]


# --- API tokens --------------------------------------------------------------------------------


class ApiTokenSerializer(StrictModelSerializer):
    user = UserSummarySerializer(read_only=True)
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional ceiling: the token acts with the lower of this and its owner's current role.",
    )
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "role",
            "user",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = ["id", "prefix", "user", "created_at", "last_used_at", "revoked_at", "is_active"]
        extra_kwargs = {"expires_at": {"required": False, "allow_null": True}}

    def validate_name(self, value):
        if not value.strip():
            raise serializers.ValidationError("A token needs a name.")
        return value.strip()

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


class IssuedApiTokenSerializer(ApiTokenSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The bearer secret. Returned only in this response: only its digest is kept."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]
        read_only_fields = [*ApiTokenSerializer.Meta.read_only_fields, "secret"]

    def get_secret(self, token) -> str:
        return self.context["secret"]
