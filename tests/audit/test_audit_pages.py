"""The audit log page: who may read it, what it shows, and how it answers bad filters."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.services import record
from opsplatform.core.actors import Actor

URL = "/audit/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "ledger-results"}


@pytest.fixture
def entries(org, other_org, team, actor_as):
    manager = actor_as("manager")
    record(actor=manager, verb="team.updated", target=team, data={"changes": {"name": "Payments"}})
    record(actor=manager, verb="member.role_changed", data={"user": "viewer"})
    record(actor=actor_as("admin"), verb="member.removed", data={"user": "gone"})
    record(actor=Actor.system("globex-job"), verb="globex.secret_event", organization=other_org)


def shown_verbs(response) -> list[str]:
    return [entry.verb for entry in response.context["page"].entries]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("admin", 200), ("manager", 200), ("operator", 403), ("viewer", 403)],
)
def test_role_matrix(client_as, entries, role, status):
    response = client_as(role).get(URL)

    assert response.status_code == status
    if status == 200:
        assert shown_verbs(response) == ["member.removed", "member.role_changed", "team.updated"]


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client, entries):
    response = client.get(URL)

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.django_db
def test_outsider_sees_only_their_own_organization(client_as, entries):
    response = client_as("outsider").get(URL)

    assert response.status_code == 200
    assert shown_verbs(response) == ["globex.secret_event"]
    content = response.content.decode()
    assert "member.role_changed" not in content
    assert "team.updated" not in content


@pytest.mark.django_db
def test_page_renders_entries(client_as, entries, team):
    response = client_as("manager").get(URL)

    content = response.content.decode()
    assert "<h1>Audit log</h1>" in content
    assert f"accounts.team:{team.pk}" in content
    assert "&quot;user&quot;: &quot;viewer&quot;" in content
    assert 'data-live="on"' in content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"verb": "member.removed"}, ["member.removed"]),
        ({"verb": "member."}, ["member.removed", "member.role_changed"]),
        ({"verb": "member*"}, ["member.removed", "member.role_changed"]),
        ({"verb": "  Team.Updated "}, ["team.updated"]),
        ({"target_type": "accounts.team"}, ["team.updated"]),
        ({"actor_type": "system"}, []),
        ({"actor_type": "user", "verb": "team."}, ["team.updated"]),
    ],
)
def test_filters(client_as, entries, params, expected):
    response = client_as("manager").get(URL, params)

    assert response.status_code == 200
    assert shown_verbs(response) == expected


@pytest.mark.django_db
def test_filter_by_person_and_target_id(client_as, entries, users, team):
    manager = client_as("manager")

    by_admin = manager.get(URL, {"actor": users["admin"].pk})
    by_target = manager.get(URL, {"target_type": "accounts.team", "target_id": str(team.pk)})

    assert shown_verbs(by_admin) == ["member.removed"]
    assert shown_verbs(by_target) == ["team.updated"]


@pytest.mark.django_db
def test_filter_by_time_range(client_as, org):
    record(actor=Actor.system("t"), verb="test.first", organization=org)
    second = record(actor=Actor.system("t"), verb="test.second", organization=org)
    manager = client_as("manager")

    before_second = manager.get(URL, {"until": second.created_at.isoformat()})
    from_second = manager.get(URL, {"since": second.created_at.isoformat()})
    since_long_ago = manager.get(URL, {"since": "2000-01-01T00:00"})

    assert shown_verbs(before_second) == ["test.first"]
    assert shown_verbs(from_second) == ["test.second"]
    assert shown_verbs(since_long_ago) == ["test.second", "test.first"]
    assert 'data-live="off"' in before_second.content.decode()  # a closed time window never grows
    assert 'data-live="on"' in from_second.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "not-a-date"}, "since"),
        ({"until": "2024-13-45T99:99"}, "until"),
        ({"since": "2024-05-02T10:00", "until": "2024-05-01T10:00"}, "until"),
        ({"verb": "member'; DROP TABLE audit_ledgerentry;--"}, "verb"),
        ({"verb": "x" * 65}, "verb"),
        ({"actor": "abc"}, "actor"),
        ({"actor": "99999999999999999999999"}, "actor"),
        ({"actor_type": "superuser"}, "actor_type"),
        ({"before": "abc"}, "before"),
        ({"before": "-5"}, "before"),
        ({"after": "99999999999999999999999"}, "after"),
    ],
)
def test_bad_filter_values_are_form_errors_not_500(client_as, entries, params, field):
    response = client_as("manager").get(URL, params)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    assert 'role="alert"' in response.content.decode()


@pytest.mark.django_db
def test_another_organizations_member_is_not_a_valid_person(client_as, entries, outsider):
    response = client_as("manager").get(URL, {"actor": outsider.pk})

    assert response.status_code == 200
    assert "actor" in response.context["form"].errors


@pytest.mark.django_db
def test_htmx_request_gets_only_the_results_fragment(client_as, entries):
    response = client_as("manager").get(URL, {"verb": "member."}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="ledger-results"')
    assert "<html" not in content
    assert "member.removed" in content
    assert "team.updated" not in content
    assert 'data-refresh-url="/audit/?verb=member."' in content
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_htmx_history_restore_gets_the_full_page(client_as, entries):
    response = client_as("manager").get(URL, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)

    assert "<html" in response.content.decode()


@pytest.mark.django_db
def test_htmx_request_for_another_target_gets_the_full_page(client_as, entries):
    response = client_as("manager").get(URL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="main")

    assert "<html" in response.content.decode()


@pytest.mark.django_db
def test_htmx_bad_filter_shows_the_error_in_the_fragment(client_as, entries):
    response = client_as("manager").get(URL, {"since": "yesterday-ish"}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in content
    assert "From (UTC)" in content


@pytest.mark.django_db
def test_pages_by_position_in_the_chain(client_as, org):
    system = Actor.system("t")
    for n in range(55):
        record(actor=system, verb="test.bulk", organization=org, data={"n": n})
    manager = client_as("manager")

    first = manager.get(URL)
    first_page = first.context["page"]
    older = manager.get(URL, {"before": first_page.older_cursor})
    back = manager.get(URL, {"after": older.context["page"].newer_cursor})

    assert [e.sequence for e in first_page.entries] == list(range(55, 5, -1))
    assert first.context["older_url"] == "/audit/?before=6"
    assert first.context["newer_url"] is None
    assert [e.sequence for e in older.context["page"].entries] == [5, 4, 3, 2, 1]
    assert older.context["page"].older_cursor is None
    assert 'data-live="off"' in older.content.decode()  # an older page does not jump on new entries
    assert [e.sequence for e in back.context["page"].entries] == list(range(55, 5, -1))
    assert back.context["page"].is_newest


@pytest.mark.django_db
def test_pagination_keeps_filters(client_as, org):
    system = Actor.system("t")
    for _ in range(51):
        record(actor=system, verb="test.kept", organization=org)
    record(actor=system, verb="test.other", organization=org)

    response = client_as("manager").get(URL, {"verb": "test.kept", "since": ""})

    assert response.context["older_url"] == "/audit/?verb=test.kept&before=2"


@pytest.mark.django_db
def test_query_count_does_not_grow_with_entries(client_as, org):
    manager = client_as("manager")
    system = Actor.system("t")
    record(actor=system, verb="test.one", organization=org, data={"n": 0})
    with CaptureQueriesContext(connection) as few:
        manager.get(URL)
    for n in range(40):
        record(actor=system, verb="test.many", organization=org, data={"n": n})
    with CaptureQueriesContext(connection) as many:
        manager.get(URL)

    assert len(many) == len(few)


def test_named_route_is_where_the_navigation_points():
    assert reverse("audit:log") == URL
