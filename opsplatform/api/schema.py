"""OpenAPI generation: every operation documents the problem+json errors it can answer, and the
schema says what the server does (a fuzz test, ``tests/api/test_schema_fuzz.py``, holds it to that).

``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` points here. An operation's own ``extend_schema``
responses win over these defaults for the same status code. What is answered, by rule:

* 400 on every write, every delete (a service may refuse it: a team still owning a schedule) and
  every operation taking query parameters (a filter or paging value that does not parse);
* 401 and 403 where a capability is required, 404 on every route with an id in it, 413 on writes,
  429 everywhere;
* pagination and list filters only on GET: a POST action answering with ``many=True`` (reordering
  rules) answers a plain list, never a page;
* ``TimeField``s as ``HH:MM[:SS[.ffffff]]`` strings: OpenAPI's ``format: time`` means RFC 3339's
  full-time, which requires an offset the server neither writes nor accepts;
* request bodies of strict serializers (every write) with ``additionalProperties: false``: the
  server refuses an unknown field with a 400, so the schema must not invite one.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from opsplatform.api.permissions import HasCapability
from opsplatform.api.problems import PROBLEM_CONTENT_TYPE
from opsplatform.api.serializers import StrictFieldsMixin

WRITE_METHODS = ("POST", "PUT", "PATCH")
LOCAL_TIME = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
    "description": "Local time of day, `HH:MM` or `HH:MM:SS` (no offset).",
}


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
        if operation is None:
            return None
        self._document_query_problems(operation)
        capability = self._required_capability()
        if capability is None:
            return operation
        description = operation.get("description", "")
        if f"Requires `{capability}`" not in description:  # a view may state the rule more fully
            operation["description"] = f"{description} Requires `{capability}`.".strip()
        return operation

    def _action_declares(self, option: str) -> bool:
        """Whether this operation pages (or filters) at all: ``list`` does; another action only when
        declared with its own ``pagination_class`` (``filter_backends``), as only those call
        ``paginate_queryset`` (``filter_queryset``). A POST never does."""
        if self.method != "GET":
            return False
        action = getattr(self.view, "action", None)
        if action in (None, "list"):
            return True
        return bool(getattr(getattr(self.view, action, None), "kwargs", {}).get(option))

    def _get_paginator(self):
        return super()._get_paginator() if self._action_declares("pagination_class") else None

    def _get_filter_parameters(self):
        return super()._get_filter_parameters() if self._action_declares("filter_backends") else []

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.TimeField):
            schema = dict(LOCAL_TIME)
            if field.allow_null:
                schema["nullable"] = True
            return schema
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema

    def _document_query_problems(self, operation: dict) -> None:
        """400 wherever query parameters are taken, whoever declared them (a filter set, the
        paginator, a view's own ``extend_schema`` parameters): each one is checked."""
        responses = operation.get("responses", {})
        if "400" in responses:
            return
        if not any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
            return
        response = self._get_response_for_code(ProblemSerializer, "400", media_types=[PROBLEM_CONTENT_TYPE])
        response["description"] = "A query parameter is invalid; `errors` names it."
        operation["responses"] = dict(sorted({**responses, "400": response}.items()))

    def _problem_codes(self) -> dict[str, str]:
        codes = {}
        if self.method in WRITE_METHODS:
            codes["400"] = "Invalid or malformed request (with field `errors`)."
            codes["413"] = "Request body too large."
        elif self.method == "DELETE":
            codes["400"] = "The object cannot be deleted as it is (`errors` says why)."
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
