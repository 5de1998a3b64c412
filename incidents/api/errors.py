"""How the incident API reports what the services and the filter form refuse."""

from contextlib import contextmanager

from rest_framework.exceptions import ErrorDetail

from incidents.state import TransitionError
from opsplatform.api.exceptions import Conflict
from opsplatform.api.problems import PROBLEM_BASE
from opsplatform.api.viewsets import service_errors

INVALID_TRANSITION_TYPE = PROBLEM_BASE + "invalid-transition"


class InvalidTransition(Conflict):
    default_detail = "The incident's current state does not allow this action."
    default_code = "invalid_transition"


@contextmanager
def incident_errors(field_map: dict[str, str] | None = None):
    """``service_errors()``, except that a refused transition is a conflict with the incident's
    state (409), not a problem with the input (400)."""
    with service_errors(field_map):
        try:
            yield
        except TransitionError as exc:
            raise InvalidTransition(" ".join(exc.messages)) from exc


def form_errors(form) -> dict:
    """A Django form's errors as DRF validation detail, codes kept."""
    return {
        field: [
            ErrorDetail(message, code=error.code or "invalid")
            for error in errors
            for message in error.messages
        ]
        for field, errors in form.errors.as_data().items()
    }
