"""Sequences of calls that follow the schema's OpenAPI links (``opsplatform/api/schema_links.py``):
create an object, then read, change, act on and delete it with the id the answer gave, and so on.

Every answer of every step is held to the schema as in the single-call fuzz test (no 5xx, a
documented status code and content type, a body matching the documented schema). Bounded: rounds
of a fixed number of scenarios of a few steps each, every round with its own fixed seed (a failure
comes back the same way), as many rounds as fit the time budget.
"""

import time
from collections import Counter

import hypothesis
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase

from incidents.ingest.services import integration_create
from incidents.services.catalog import service_create
from opsplatform.accounts import services as account_services
from tests.api.fuzz_exclusions import known_exclusion
from tests.api.test_schema_fuzz import CHECKS, keep_the_test_connection  # noqa: F401 - a fixture

# Rounds of scenarios, each with its own fixed seed, until the rounds or the time budget run out
# (a round is never cut short; about 10 s each on an idle machine).
ROUNDS = 4
SCENARIOS_PER_ROUND = 10
STEPS = 6
TIME_BUDGET_SECONDS = 45
# Distinct operations on a created object the rounds must have reached.
FOLLOWED = 5

RAW = SchemaGenerator().get_schema(request=None, public=True)


def _linked(raw: dict) -> list[str]:
    """The operations at either end of a link: the scenarios are made of these alone (a list with
    a dozen query parameters would take steps and lead nowhere)."""
    ends = set()
    for item in raw["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    ends |= {operation["operationId"], link["operationId"]}
    return sorted(ends)


schema = schemathesis.openapi.from_dict(RAW).include(operation_id=_linked(RAW))
schema.app = get_wsgi_application()
# Valid input only, so the creates succeed and the links have ids to follow (invalid input of every
# operation is the single-call fuzz test's part).
schema.config.generation.update(modes=["positive"], allow_x00=False, allow_extra_parameters=False)


def _real_references(value, references: dict):
    """Ids of other objects in a generated body made ids of real ones (a random id is a 400 naming
    it, and the scenario would stop at its first create). The single-call fuzz test sends the
    random ones."""
    if isinstance(value, list):
        for item in value:
            _real_references(item, references)
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        real = references.get(key)
        if real is None or item is None:
            _real_references(item, references)
        elif isinstance(item, list):
            value[key] = real[: len(item)]
        elif isinstance(item, int):
            value[key] = real[0]


class Workflow(schema.as_state_machine()):
    """Calls as the organization's owner; counts what answered, by operation and status."""

    token = ""
    references: dict[str, list[int]] = {}
    answers: Counter = Counter()

    def before_call(self, case):
        _real_references(case.body, self.references)

    def get_call_kwargs(self, case):
        return {"headers": {"Authorization": f"Bearer {self.token}"}}

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        type(self).answers[(case.operation.label, response.status_code)] += 1
        if known_exclusion(case, response):
            return
        case.validate_response(response, checks=CHECKS)


@pytest.fixture
def references(team, users, actor_as):
    """Real ids for each body field that names another object."""
    owner = actor_as("owner")
    service = service_create(actor=owner, name="Payments API")
    integration = integration_create(actor=owner, name="Alertmanager", kind="alertmanager").integration
    teams = [team.pk]
    services = [service.pk]
    people = [users["operator"].pk, users["manager"].pk]  # the team's members: they may take shifts
    return {
        **dict.fromkeys(["team", "owner_team", "route_team", "default_for_teams"], teams),
        **dict.fromkeys(["service", "route_service", "services"], services),
        "integration": [integration.pk],
        **dict.fromkeys(["assignees", "responders", "participants", "members", "user", "replaces"], people),
    }


def test_linked_sequences_answer_as_documented(keep_the_test_connection, references, actor_as):  # noqa: F811
    Workflow.token = account_services.api_token_create(actor=actor_as("owner"), name="stateful").secret
    Workflow.references = references
    Workflow.answers = Counter()
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    rounds = 0
    # Past the time budget only while too few links were followed: on a slow machine the first
    # round alone may follow fewer than the assertion below needs, and the rounds are seeded.
    while rounds < ROUNDS and (rounds == 0 or time.monotonic() < deadline or len(_followed()) < FOLLOWED):
        hypothesis.seed(rounds)(Workflow)
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=SCENARIOS_PER_ROUND,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )
        rounds += 1

    # The links were followed: objects the scenarios created were then found, changed or acted on.
    assert len(_followed()) >= FOLLOWED, sorted(Workflow.answers.items())


def _followed() -> set[str]:
    """Operations on an object by its id that answered 2xx: links the scenarios followed."""
    answers = Workflow.answers.items()
    return {label for (label, status), _ in answers if 200 <= status < 300 and "{id}" in label}


def test_creates_and_updates_link_to_what_can_be_done_with_their_object():
    def links(path, method, status):
        return RAW["paths"][path][method]["responses"][status]["links"]

    created = links("/api/v1/services/", "post", "201")
    assert set(created) == {"services_retrieve", "services_partial_update", "services_destroy"}
    assert created["services_retrieve"] == {
        "operationId": "services_retrieve",
        "parameters": {"id": "$response.body#/id"},
    }
    assert "incidents_acknowledge_create" in links("/api/v1/incidents/", "post", "201")
    assert "services_destroy" in links("/api/v1/services/{id}/", "patch", "200")
    # A create nested under another object links to where its object lives.
    nested = links("/api/v1/schedules/{id}/overrides/", "post", "201")
    assert set(nested) == {"overrides_retrieve", "overrides_accept_create", "overrides_decline_create"}
    # A create whose answer names no object of its own links nowhere.
    assert "links" not in RAW["paths"]["/api/v1/incidents/{id}/notes/"]["post"]["responses"]["201"]


@pytest.mark.django_db
def test_write_bodies_say_they_take_no_unknown_field(api_as):
    """The server refuses an unknown field (400), so the schema says none is taken: generated
    "valid" input with one would be refused, and the scenarios above would stop at their first step."""
    components = RAW["components"]["schemas"]
    assert components["ServiceRequest"]["additionalProperties"] is False
    assert components["PatchedServiceRequest"]["additionalProperties"] is False
    assert components["LayerRequest"]["additionalProperties"] is False  # nested ones too

    response = api_as("manager").post("/api/v1/services/", {"name": "Search", "colour": "red"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["colour"]
