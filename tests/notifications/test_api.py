"""``/api/v1/schedules/``, ``/escalation-policies/``, ``/channels/``, ``/notifications/``: shapes,
capabilities per role, tenancy, secrets write-only, and the OpenAPI schema."""

import pytest
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from audit.models import LedgerEntry
from notifications.escalation import run_escalation_tick
from notifications.models import Channel, EscalationPolicy, Notification, Schedule, ServiceEscalation
from notifications.selectors import channel_secrets
from tests.notifications.factories import make_channel, make_policy, make_schedule, step

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def layer_payload(users, **overrides):
    return {
        "name": "Primary",
        "rotation": "daily",
        "start_date": "2025-03-01",
        "handoff_time": "09:00",
        "participants": [users["operator"].pk, users["manager"].pk],
        **overrides,
    }


# --- schedules ----------------------------------------------------------------------------------


def test_create_a_schedule_with_layers_and_ask_who_is_on_call(api_as, team, users):
    api = api_as("manager")
    team.time_zone = "Europe/Berlin"
    team.save(update_fields=["time_zone"])
    response = api.post(
        "/api/v1/schedules/",
        {"name": "Payments", "team": team.pk, "layers": [layer_payload(users)]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["time_zone"] == "Europe/Berlin"
    assert body["layers"][0]["participants"] == [users["operator"].pk, users["manager"].pk]
    schedule_id = body["id"]

    # 2025-03-30 is the spring change in Berlin: 09:00 CEST is 07:00 UTC.
    before = api.get(f"/api/v1/schedules/{schedule_id}/oncall/", {"at": "2025-03-30T06:59:00Z"}).json()
    after = api.get(f"/api/v1/schedules/{schedule_id}/oncall/", {"at": "2025-03-30T07:00:00Z"}).json()
    assert before["current"]["user"]["username"] != after["current"]["user"]["username"]
    assert after["current"]["start"] == "2025-03-30T07:00:00Z"
    assert after["next"]["start"] == "2025-03-31T07:00:00Z"
    assert after["gaps"] == []


def test_oncall_now_by_default_and_bad_times_are_problems(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    api = api_as("viewer")
    assert (
        api.get(f"/api/v1/schedules/{schedule.pk}/oncall/").json()["current"]["user"]["username"]
        == "operator"
    )
    bad = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "yesterday"})
    assert bad.status_code == 400 and bad["Content-Type"] == PROBLEM
    assert bad.json()["errors"][0]["field"] == "at"
    naive = api.get(f"/api/v1/schedules/{schedule.pk}/oncall/", {"at": "2025-01-01T10:00:00"})
    assert naive.status_code == 400


def test_layers_are_replaced_on_update(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    response = api_as("manager").patch(
        f"/api/v1/schedules/{schedule.pk}/",
        {
            "layers": [
                layer_payload(users, name="A"),
                layer_payload(users, name="B", rotation="custom", shift_hours=8),
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [layer["name"] for layer in response.json()["layers"]] == ["A", "B"]
    assert schedule.layers.count() == 2


def test_layer_validation_is_field_level(api_as, team, users, outsider):
    response = api_as("manager").post(
        "/api/v1/schedules/",
        {
            "name": "X",
            "team": team.pk,
            "layers": [
                layer_payload(users, participants=[outsider.pk], restrictions=[{"days": [9], "start": "9"}])
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert any(f.startswith("layers.0.participants") for f in fields)
    assert any(f.startswith("layers.0.restrictions.0") for f in fields)


def test_overrides_through_the_api(api_as, org, team, users):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    start = timezone.now() + timezone.timedelta(hours=1)
    payload = {
        "user": users["manager"].pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + timezone.timedelta(hours=2)).isoformat(),
    }
    assert (
        api_as("viewer")
        .post(f"/api/v1/schedules/{schedule.pk}/overrides/", payload, format="json")
        .status_code
        == 403
    )
    created = api_as("manager").post(f"/api/v1/schedules/{schedule.pk}/overrides/", payload, format="json")
    assert created.status_code == 201
    listed = api_as("viewer").get(f"/api/v1/schedules/{schedule.pk}/overrides/").json()
    assert [o["user"] for o in listed] == [users["manager"].pk]


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 201), ("admin", 201)]
)
def test_schedule_create_by_role(api_as, team, role, status):
    response = api_as(role).post("/api/v1/schedules/", {"name": f"S {role}", "team": team.pk}, format="json")
    assert response.status_code == status


def test_another_tenants_schedule_is_404(api_as, org, team, users):
    schedule = make_schedule(org, team)
    api = api_as("outsider")
    assert api.get(f"/api/v1/schedules/{schedule.pk}/").status_code == 404
    assert api.get(f"/api/v1/schedules/{schedule.pk}/oncall/").status_code == 404
    assert api.get("/api/v1/schedules/").json()["count"] == 0


def test_foreign_team_reads_as_unknown(api_as, other_team):
    response = api_as("manager").post(
        "/api/v1/schedules/", {"name": "X", "team": other_team.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "team"


# --- escalation policies ------------------------------------------------------------------------


def test_create_a_policy_with_steps_and_attach_it(api_as, org, team, users, service):
    schedule = make_schedule(org, team, layers=[{"participants": [users["operator"]]}])
    channel = make_channel(org, kind="email", recipients=["ops@example.test"]).channel
    response = api_as("manager").post(
        "/api/v1/escalation-policies/",
        {
            "name": "Payments",
            "repeat_count": 2,
            "steps": [
                {
                    "delay_minutes": 5,
                    "targets": [
                        {"type": "schedule", "id": schedule.pk},
                        {"type": "channel", "id": channel.pk},
                    ],
                },
                {"delay_minutes": 10, "round_robin": True, "targets": [{"type": "team", "id": team.pk}]},
            ],
            "services": [service.pk],
            "default_for_teams": [team.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["steps"][0]["targets"] == [
        {"type": "schedule", "id": schedule.pk},
        {"type": "channel", "id": channel.pk},
    ]
    assert body["steps"][1]["round_robin"] is True
    assert body["services"] == [service.pk] and body["default_for_teams"] == [team.pk]
    assert ServiceEscalation.objects.get(service=service).policy_id == body["id"]
    assert LedgerEntry.objects.filter(verb="escalation_policy.created").exists()


def test_policy_targets_in_another_organization_are_unknown(api_as, other_team):
    response = api_as("manager").post(
        "/api/v1/escalation-policies/",
        {"name": "X", "steps": [{"delay_minutes": 5, "targets": [{"type": "team", "id": other_team.pk}]}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("steps.0")


def test_policy_steps_are_replaced_on_update(api_as, org, users):
    policy = make_policy(org, step(("user", users["operator"])))
    response = api_as("manager").patch(
        f"/api/v1/escalation-policies/{policy.pk}/",
        {"steps": [{"delay_minutes": 7, "targets": [{"type": "user", "id": users["admin"].pk}]}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["steps"] == [
        {"delay_minutes": 7, "round_robin": False, "targets": [{"type": "user", "id": users["admin"].pk}]}
    ]


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), ("operator", 200), ("outsider", 404)])
def test_policy_read_by_role(api_as, org, users, role, status):
    policy = make_policy(org, step(("user", users["operator"])))
    assert api_as(role).get(f"/api/v1/escalation-policies/{policy.pk}/").status_code == status


def test_operators_cannot_write_policies(api_as):
    assert (
        api_as("operator").post("/api/v1/escalation-policies/", {"name": "x"}, format="json").status_code
        == 403
    )


# --- channels -----------------------------------------------------------------------------------


def test_channel_secrets_are_write_only(api_as):
    api = api_as("admin")
    created = api.post(
        "/api/v1/channels/",
        {"name": "Hook", "kind": "webhook", "url": "https://hooks.example.com/T/B/verysecret"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["signing_secret"].startswith("whsec_")
    assert "url" not in body and "verysecret" not in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    again = api.get(f"/api/v1/channels/{body['id']}/").content.decode()
    assert "verysecret" not in again and "whsec_" not in again
    assert api.get(f"/api/v1/channels/{body['id']}/").json()["secret_hint"] == "https://hooks.example.com/…"


def test_twilio_channel_shape(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/",
        {
            "name": "Pager",
            "kind": "twilio_sms",
            "account_sid": "AC" + "a" * 32,
            "auth_token": "tok-123456",
            "from_number": "+15005550006",
            "recipients": ["+49 151 1234 5678"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipients"] == ["+4915112345678"] and "auth_token" not in body
    assert "tok-123456" not in response.content.decode()


def test_channel_update_keeps_secrets_when_not_given(api_as, org):
    channel = make_channel(org, kind="slack", url="https://hooks.slack.com/services/T/B/abc").channel
    before = Channel.objects.get(pk=channel.pk).secrets_encrypted
    response = api_as("admin").patch(f"/api/v1/channels/{channel.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.secrets_encrypted == before and not channel.is_active


def test_rotate_signing_secret(api_as, org):
    issued = make_channel(org, kind="webhook", url="https://hooks.example.com/x")
    response = api_as("admin").post(f"/api/v1/channels/{issued.channel.pk}/rotate-secret/")
    assert response.status_code == 200
    assert response.json()["signing_secret"] not in ("", issued.signing_secret)
    stored = channel_secrets(Channel.objects.get(pk=issued.channel.pk))
    assert stored["signing_secret"] == response.json()["signing_secret"]


def test_a_channel_can_be_created_inactive(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/",
        {"name": "Mail", "kind": "email", "recipients": ["a@example.test"], "is_active": False},
        format="json",
    )
    assert response.status_code == 201
    assert Channel.objects.get(pk=response.json()["id"]).is_active is False


def test_a_channels_kind_cannot_change(api_as, org):
    issued = make_channel(org, kind="webhook", url="https://hooks.example.com/x")
    response = api_as("admin").patch(
        f"/api/v1/channels/{issued.channel.pk}/", {"kind": "email", "name": "Renamed"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    channel = Channel.objects.get(pk=issued.channel.pk)
    assert (channel.kind, channel.name) == ("webhook", issued.channel.name)


@pytest.mark.parametrize(("role", "status"), [("operator", 403), ("manager", 403), ("admin", 201)])
def test_channel_create_by_role(api_as, role, status):
    response = api_as(role).post(
        "/api/v1/channels/",
        {"name": "Mail", "kind": "email", "recipients": ["a@example.test"]},
        format="json",
    )
    assert response.status_code == status


def test_bad_channel_input_is_a_problem(api_as):
    response = api_as("admin").post(
        "/api/v1/channels/", {"name": "x", "kind": "slack", "url": "http://10.0.0.1/x"}, format="json"
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "url"


# --- notifications ------------------------------------------------------------------------------


@pytest.fixture
def paged(org, service, open_incident):
    channel = make_channel(org, kind="email", recipients=["ops@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    first, second = open_incident(title="First"), open_incident(title="Second")
    run_escalation_tick(now=timezone.now())
    return first, second


def test_notifications_filtered_by_incident(api_as, paged, django_assert_max_num_queries):
    first, _ = paged
    api = api_as("viewer")
    with django_assert_max_num_queries(12):
        response = api.get("/api/v1/notifications/", {"incident": first.pk})
    body = response.json()
    assert [n["incident"] for n in body["results"]] == [first.pk]
    row = body["results"][0]
    assert row["status"] == "pending" and row["step"] == 1 and row["attempt_log"] == []
    assert len(api.get("/api/v1/notifications/").json()["results"]) == 2


def test_foreign_incident_filter_leaks_nothing(api_as, paged):
    api = api_as("outsider")
    # Another tenant's incident and one that does not exist answer alike: an empty page.
    assert api.get("/api/v1/notifications/", {"incident": paged[0].pk}).json()["results"] == []
    assert api.get("/api/v1/notifications/", {"incident": 999999}).json()["results"] == []


def test_resend_through_the_api(api_as, paged):
    row = Notification.objects.first()
    response = api_as("operator").post(f"/api/v1/notifications/{row.pk}/resend/")
    assert response.status_code == 400  # only dead letters
    Notification.objects.filter(pk=row.pk).update(status="dead", attempts=6)
    assert api_as("viewer").post(f"/api/v1/notifications/{row.pk}/resend/").status_code == 403
    response = api_as("operator").post(f"/api/v1/notifications/{row.pk}/resend/")
    assert response.status_code == 200 and response.json()["status"] == "pending"


# --- schema -------------------------------------------------------------------------------------

PAGING_PATHS = {
    "/api/v1/schedules/": {"get", "post"},
    "/api/v1/schedules/{id}/": {"get", "patch", "delete"},
    "/api/v1/schedules/{id}/oncall/": {"get"},
    "/api/v1/schedules/{id}/overrides/": {"get", "post"},
    "/api/v1/escalation-policies/": {"get", "post"},
    "/api/v1/escalation-policies/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/": {"get", "post"},
    "/api/v1/channels/{id}/": {"get", "patch", "delete"},
    "/api/v1/channels/{id}/rotate-secret/": {"post"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/{id}/": {"get"},
    "/api/v1/notifications/{id}/resend/": {"post"},
}


def test_schema_documents_the_paging_endpoints(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    for url, methods in PAGING_PATHS.items():
        assert url in schema["paths"], url
        assert set(schema["paths"][url]) - {"parameters"} == methods, url
    oncall = schema["paths"]["/api/v1/schedules/{id}/oncall/"]["get"]
    assert {p["name"] for p in oncall["parameters"]} >= {"at", "window_hours"}
    listing = schema["paths"]["/api/v1/notifications/"]["get"]
    assert "incident" in {p["name"] for p in listing["parameters"]}
    components = schema["components"]["schemas"]
    # Secrets go in (request component) and never come out (response component).
    assert {"url", "auth_token"} <= set(components["ChannelRequest"]["properties"])
    assert not {"url", "auth_token"} & set(components["Channel"]["properties"])


def test_paging_endpoints_generate_without_warnings_and_validate():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("notifications.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    assert not GENERATOR_STATS, (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    validate_schema(schema)


def test_models_stay_tenant_scoped():
    for model in (Schedule, EscalationPolicy, Channel, Notification):
        assert model._meta.get_field("organization").db_index
