"""``/api/v1/ledger/checkpoints/`` and ``/api/v1/ledger/public-key/``: what an auditor needs to verify
an export of the ledger (and of its archive) without access to the database."""

from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.archive import signing
from audit.models import LedgerCheckpoint
from opsplatform.api.pagination import TimeOrderedCursorPagination
from opsplatform.api.serializers import StrictModelSerializer
from opsplatform.api.viewsets import TenantViewSetMixin
from opsplatform.core.capabilities import Capability


class CheckpointSerializer(StrictModelSerializer):
    signed_payload = serializers.SerializerMethodField(
        help_text="The object that was signed: its canonical JSON (sorted keys, no spaces) is the message."
    )

    class Meta:
        model = LedgerCheckpoint
        fields = [
            "id",
            "first_sequence",
            "last_sequence",
            "last_hash",
            "count",
            "first_created_at",
            "last_created_at",
            "created_at",
            "backend",
            "location",
            "key_id",
            "signature",
            "signed_payload",
        ]
        read_only_fields = fields

    def get_signed_payload(self, checkpoint) -> dict:
        return checkpoint.signed_payload()


class CheckpointPagination(TimeOrderedCursorPagination):
    ordering = ("-last_sequence",)


@extend_schema_view(
    list=extend_schema(
        summary="List ledger checkpoints",
        description="Signed checkpoints of the organization's archived ledger spans, newest first. The live "
        "chain continues from the newest: its first entry's `prev_hash` is that checkpoint's `last_hash`.",
    ),
    retrieve=extend_schema(summary="Retrieve a ledger checkpoint"),
)
class CheckpointViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = LedgerCheckpoint.objects.all()
    serializer_class = CheckpointSerializer
    pagination_class = CheckpointPagination
    filter_backends = []
    capabilities = {"list": Capability.AUDIT_VIEW, "retrieve": Capability.AUDIT_VIEW}


class PublicKeyView(APIView):
    """The deployment's checkpoint-signing public key (and earlier ones still trusted). Public."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Ledger signing public keys",
        responses=inline_serializer(
            "LedgerPublicKeys",
            {
                "algorithm": serializers.CharField(),
                "current_key_id": serializers.CharField(),
                "keys": serializers.DictField(
                    child=serializers.CharField(), help_text="key_id: raw key, base64url"
                ),
            },
        ),
    )
    def get(self, request):
        keys = {key_id: signing.b64_of(key) for key_id, key in signing.trusted_keys().items()}
        return Response({"algorithm": "Ed25519", "current_key_id": signing.current_key_id(), "keys": keys})
