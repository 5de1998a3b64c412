"""How the workflows API reports a refused transition: 409 ``invalid-transition`` problem."""

from contextlib import contextmanager

from opsplatform.api.exceptions import Conflict
from opsplatform.api.problems import PROBLEM_BASE
from opsplatform.api.viewsets import service_errors
from workflows.errors import TransitionError

INVALID_TRANSITION_TYPE = PROBLEM_BASE + "invalid-transition"


class InvalidTransition(Conflict):
    default_detail = "The run's current state does not allow this event."
    default_code = "invalid_transition"


@contextmanager
def workflow_errors(field_map=None):
    with service_errors(field_map):
        try:
            yield
        except TransitionError as exc:
            raise InvalidTransition(" ".join(exc.messages)) from exc


class ConflictAsTransitionMixin:
    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, InvalidTransition) and isinstance(response.data, dict):
            response.data["type"] = INVALID_TRANSITION_TYPE
            response.data["title"] = "Invalid transition"
        return response
