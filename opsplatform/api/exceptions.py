"""API exceptions beyond DRF's own (kept free of view imports: parsers load while DRF's views do)."""

from rest_framework import exceptions


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"
