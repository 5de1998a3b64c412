"""What the workflow services refuse, beyond Django's ValidationError and PermissionDenied."""

from django.core.exceptions import ValidationError


class TransitionError(ValidationError):
    """The event is not possible from the run's current state (the API answers 409)."""

    def __init__(self, message: str, code: str = "invalid_transition"):
        super().__init__(message, code=code)
