"""OpenAPI generation: every operation documents the problem+json errors it can answer.

``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` points here. An operation's own ``extend_schema``
responses win over these defaults for the same status code.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from opsplatform.api.permissions import HasCapability
from opsplatform.api.problems import PROBLEM_CONTENT_TYPE

WRITE_METHODS = ("POST", "PUT", "PATCH")


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path of the field, e.g. `steps.0.name`.")
    message = serializers.CharField()
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `required`, `unknown_field`.")


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="URI identifying the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(help_text="The request path.")
    request_id = serializers.CharField(required=False, help_text="Quote it when reporting a problem.")
    errors = ProblemFieldErrorSerializer(many=True, required=False, help_text="Validation problems only.")

    class Meta:
        ref_name = "Problem"


class ProblemAutoSchema(AutoSchema):
    def _required_capability(self) -> str | None:
        """The capability the view's map declares for this operation (what HasCapability enforces)."""
        capabilities = getattr(self.view, "capabilities", None)
        if not capabilities:
            return None
        action = getattr(self.view, "action", None)
        key = action if action is not None else self.method.lower()
        return capabilities.get(key)

    def get_operation(self, *args, **kwargs):
        """The operation's own description, then the capability it needs, from the same map the
        permission class reads (``extend_schema`` descriptions included): the documentation cannot
        drift from what is enforced."""
        operation = super().get_operation(*args, **kwargs)
        capability = self._required_capability()
        if operation is None or capability is None:
            return operation
        description = operation.get("description", "")
        if f"Requires `{capability}`" not in description:  # a view may state the rule more fully
            operation["description"] = f"{description} Requires `{capability}`.".strip()
        return operation

    def _problem_codes(self) -> dict[str, str]:
        codes = {}
        if self.method in WRITE_METHODS:
            codes["400"] = "Invalid or malformed request (with field `errors`)."
            codes["413"] = "Request body too large."
        if any(issubclass(permission, HasCapability) for permission in self.view.permission_classes):
            codes["401"] = "Missing, invalid, expired or revoked credentials."
            codes["403"] = "The caller lacks the capability for this operation."
        if "{" in self.path:
            codes["404"] = "No such object in the caller's organization."
        codes["429"] = "Rate limit reached; retry after `Retry-After` seconds."
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in self._problem_codes().items():
            if code in responses:
                continue
            response = self._get_response_for_code(
                ProblemSerializer, code, media_types=[PROBLEM_CONTENT_TYPE]
            )
            response["description"] = description
            responses[code] = response
        return dict(sorted(responses.items()))
