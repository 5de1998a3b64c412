"""``/api/v1/ledger/``: read-only, scoped to the caller's organization, filterable."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from audit.models import LedgerEntry
from audit.services import record
from opsplatform.core.actors import Actor

LIST = "/api/v1/ledger/"
PROBLEM = "application/problem+json"
ROLE_STATUS = [("owner", 200), ("admin", 200), ("manager", 200), ("operator", 403), ("viewer", 403)]


def detail(entry) -> str:
    return f"{LIST}{entry.pk}/"


@pytest.fixture
def entries(org, other_org, team, actor_as):
    manager = actor_as("manager")
    return {
        "team": record(actor=manager, verb="team.updated", target=team, data={"changes": {"name": "P"}}),
        "role": record(actor=manager, verb="member.role_changed", data={"to": "admin"}),
        "removed": record(actor=actor_as("admin"), verb="member.removed"),
        "foreign": record(actor=Actor.system("job"), verb="globex.secret_event", organization=other_org),
    }


def verbs(response) -> list[str]:
    return [item["verb"] for item in response.json()["results"]]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), ROLE_STATUS)
def test_list_role_matrix(api_as, entries, role, status):
    response = api_as(role).get(LIST)

    assert response.status_code == status
    if status == 403:
        assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), ROLE_STATUS)
def test_retrieve_role_matrix(api_as, entries, role, status):
    response = api_as(role).get(detail(entries["team"]))

    assert response.status_code == status
    if status == 200:
        body = response.json()
        entry = entries["team"]
        entry.refresh_from_db()
        assert body["sequence"] == entry.sequence
        assert body["entry_hash"] == entry.entry_hash
        assert body["prev_hash"] == entry.prev_hash
        assert body["target_type"] == "accounts.team"
        assert body["data"] == {"changes": {"name": "P"}}


@pytest.mark.django_db
def test_unauthenticated_is_401_problem(client, entries):
    response = client.get(LIST)

    assert response.status_code == 401
    assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.django_db
def test_list_is_newest_first_and_only_the_callers_organization(api_as, entries):
    response = api_as("manager").get(LIST)

    results = response.json()["results"]
    sequences = [item["sequence"] for item in results]
    assert sequences == sorted(sequences, reverse=True)
    assert "globex.secret_event" not in verbs(response)
    assert {"team.updated", "member.role_changed", "member.removed"} <= set(verbs(response))


@pytest.mark.django_db
def test_outsider_gets_404_for_an_entry_of_another_organization(api_as, entries):
    response = api_as("outsider").get(detail(entries["team"]))

    assert response.status_code == 404
    assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.django_db
def test_member_gets_404_for_another_organizations_entry(api_as, entries):
    response = api_as("owner").get(detail(entries["foreign"]))

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("entry_id", ["abc", "99999999999999999999999", "0"])
def test_malformed_or_missing_id_is_404_problem(api_as, entries, entry_id):
    response = api_as("owner").get(f"{LIST}{entry_id}/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.django_db
def test_outsider_lists_only_their_own_organization(api_as, entries):
    response = api_as("outsider").get(LIST)

    assert response.status_code == 200
    assert "team.updated" not in verbs(response)
    assert "globex.secret_event" in verbs(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"verb": "member.removed"}, ["member.removed"]),
        ({"verb_prefix": "member."}, ["member.removed", "member.role_changed"]),
        ({"target_type": "accounts.team"}, ["team.updated"]),
        ({"actor_type": "system"}, []),
    ],
)
def test_filters(api_as, entries, params, expected):
    response = api_as("manager").get(LIST, params)

    assert response.status_code == 200
    assert verbs(response) == expected


@pytest.mark.django_db
def test_filter_by_actor_and_target_id(api_as, entries, users, team):
    api = api_as("manager")

    by_admin = api.get(LIST, {"actor_type": "user", "actor_id": str(users["admin"].pk)})
    by_target = api.get(LIST, {"target_type": "accounts.team", "target_id": str(team.pk)})

    assert verbs(by_admin) == ["member.removed"]
    assert verbs(by_target) == ["team.updated"]


@pytest.mark.django_db
def test_filter_by_time_range(api_as, entries):
    api = api_as("manager")
    role = entries["role"]

    since = api.get(LIST, {"since": role.created_at.isoformat(), "verb_prefix": "member."})
    until = api.get(LIST, {"until": role.created_at.isoformat(), "verb_prefix": "member."})

    assert verbs(since) == ["member.removed", "member.role_changed"]
    assert verbs(until) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01T00:00:00Z"}, "until"),
        ({"actor_type": "root"}, "actor_type"),
    ],
)
def test_bad_filter_is_400_problem_with_field_detail(api_as, entries, params, field):
    response = api_as("manager").get(LIST, params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.django_db
def test_cursor_pages_do_not_shift_when_entries_arrive(api_as, org):
    api = api_as("manager")
    system = Actor.system("t")
    for n in range(5):
        record(actor=system, verb="test.page", organization=org, data={"n": n})

    first = api.get(LIST, {"verb": "test.page", "page_size": 2}).json()
    record(actor=system, verb="test.page", organization=org, data={"n": 5})
    second = api.get(first["next"]).json()

    assert [item["data"]["n"] for item in first["results"]] == [4, 3]
    assert [item["data"]["n"] for item in second["results"]] == [2, 1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "on_detail"),
    [("post", False), ("put", True), ("patch", True), ("delete", True), ("post", True), ("delete", False)],
)
def test_writes_are_405_problem(api_as, entries, method, on_detail):
    entry = entries["team"]
    url = detail(entry) if on_detail else LIST

    response = getattr(api_as("owner"), method)(url, {"verb": "forged"}, format="json")

    assert response.status_code == 405
    assert response["Content-Type"].startswith(PROBLEM)
    entry.refresh_from_db()
    assert entry.verb == "team.updated"
    assert LedgerEntry.objects.filter(verb="forged").count() == 0


@pytest.mark.django_db
def test_documented_in_the_openapi_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    listing = schema["paths"]["/api/v1/ledger/"]["get"]
    assert set(listing) >= {"summary", "description", "parameters", "responses"}
    names = {param["name"] for param in listing["parameters"]}
    assert names >= {
        "actor_type",
        "actor_id",
        "verb",
        "verb_prefix",
        "target_type",
        "target_id",
        "since",
        "until",
        "cursor",
    }
    assert "/api/v1/ledger/{id}/" in schema["paths"]
    assert set(schema["paths"]["/api/v1/ledger/"]) == {"get"}
    assert "LedgerEntry" in schema["components"]["schemas"]
