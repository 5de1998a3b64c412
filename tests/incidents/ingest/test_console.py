"""The integration console: keys masked everywhere but the one-time answer, "Send a test event",
the copyable examples posted as they are, and the per-kind create form."""

import html
import json
import re

import pytest

from incidents.ingest import samples
from incidents.ingest.formats.grafana import expected_signature
from incidents.models import Alert, Incident, Integration, RawPayload
from tests.incidents.ingest.payloads import pd_trigger, post
from tests.ledger import entries

pytestmark = pytest.mark.django_db

KINDS = ["alertmanager", "grafana", "pagerduty", "webhook", "heartbeat"]


def _values(kind):
    return {"heartbeat_period_seconds": 300} if kind == "heartbeat" else {}


def _console_pages(client, integration) -> dict[str, str]:
    pages = {
        "list": "/integrations/",
        "overview": f"/integrations/{integration.pk}/",
        "events": f"/integrations/{integration.pk}/events/",
        "rules": f"/integrations/{integration.pk}/rules/",
        "settings": f"/integrations/{integration.pk}/edit/",
    }
    answers = {name: client.get(url) for name, url in pages.items()}
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(pages, 200)
    return {name: r.content.decode() for name, r in answers.items()}


# --- masking --------------------------------------------------------------------------------------


def test_the_key_never_appears_on_the_pages(client_as, client, make_integration):
    integration, key = make_integration("pagerduty")
    hook, hook_key = make_integration("webhook")
    assert post(client, "/v2/enqueue", pd_trigger(key)).status_code == 202
    # A sender that echoes credentials into its own body: in a URL, a header copy, named fields.
    leaky = {
        "title": "Queue stuck",
        "description": f"callback https://ops.example.com/api/v1/integrations/{hook_key}/webhook/",
        "headers": {"Authorization": f"Bearer {hook_key}"},
        "api_key": "sk_live_0123456789abcdef",
        "nested": {"password": "hunter2hunter2"},
    }
    assert (
        post(
            client, "/api/v1/integrations/webhook/", leaky, HTTP_AUTHORIZATION=f"Bearer {hook_key}"
        ).status_code
        == 202
    )

    manager = client_as("manager")
    for subject, secret in ((integration, key), (hook, hook_key)):
        pages = _console_pages(manager, subject)
        for name, page in pages.items():
            assert secret not in page, name
            assert secret[12:] not in page, name  # not even the part after the stored prefix
        assert subject.key_prefix + "…" in pages["overview"]
    events = html.unescape(manager.get(f"/integrations/{hook.pk}/events/").content.decode())
    for secret in ("sk_live_0123456789abcdef", "hunter2hunter2"):
        assert secret not in events
    assert "Queue stuck" in events and "Bearer ••••" in events
    assert f"/api/v1/integrations/{hook.key_prefix}…••••/webhook/" in events
    pd_events = html.unescape(manager.get(f"/integrations/{integration.pk}/events/").content.decode())
    assert f'"routing_key": "{integration.key_prefix}…' in pd_events


def test_the_key_is_shown_once_after_creation_and_rotation(client_as, make_integration):
    manager = client_as("manager")
    created = manager.post(
        "/integrations/new/?kind=webhook", {"kind": "webhook", "name": "Hook", "enabled": "on"}
    )
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    key = created.context["issued_key"]
    integration = Integration.objects.get(name="Hook")
    html = created.content.decode()
    assert f'<pre id="issued-key">{key}</pre>' in html
    assert f"OPS_INTEGRATION_KEY={key}" in html  # the example is ready to run, this once
    assert all(key not in page for page in _console_pages(manager, integration).values())

    rotated = manager.post(f"/integrations/{integration.pk}/rotate/", {"overlap_hours": "0"})
    new = rotated.context["issued_key"]
    assert new != key and new in rotated.content.decode()
    assert all(new not in page for page in _console_pages(manager, integration).values())


# --- send a test event ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_send_a_test_event_opens_one_marked_incident(client_as, users, make_integration, kind):
    integration, _ = make_integration(kind, **_values(kind))
    manager = client_as("manager")
    before = set(Incident.objects.values_list("pk", flat=True))

    answer = manager.post(f"/integrations/{integration.pk}/test-event/")

    assert answer.status_code == 302
    created = Incident.objects.exclude(pk__in=before)
    assert created.count() == 1
    incident = created.get()
    assert incident.title.startswith("[Test] ") and incident.labels["test"] == "true"
    assert incident.integration_id == integration.pk and incident.service == integration.service
    alert = Alert.objects.get(incident=incident)
    assert alert.labels["test"] == "true"
    payload = RawPayload.objects.get(pk=alert.raw_payload_id)
    assert {"test_event": True, "sent_by": "manager"} in payload.result
    (entry,) = entries("integration.test_event_sent", target=integration)
    assert entry.actor_id == str(users["manager"].pk) and entry.actor_type == "user"
    assert entry.data["incidents"] == [incident.pk] and entry.data["payload"] == str(payload.pk)
    assert entries("incident.triggered", target=incident).count() == 1
    # The answer points at the Overview, which shows the outcome and links the incident.
    assert answer["Location"] == f"/integrations/{integration.pk}/?sent={payload.pk}#test-event"
    page = manager.get(answer["Location"]).content.decode()
    assert f'href="/incidents/{incident.pk}/" id="test-incident-link"' in page
    assert f"New incident #{incident.pk}" in page


def test_test_events_are_each_their_own_incident(client_as, make_integration):
    integration, _ = make_integration("alertmanager")
    manager = client_as("manager")
    manager.post(f"/integrations/{integration.pk}/test-event/")
    manager.post(f"/integrations/{integration.pk}/test-event/")
    assert Incident.objects.filter(title__startswith="[Test]").count() == 2


@pytest.mark.parametrize(("role", "status"), [("operator", 403), ("viewer", 403), ("outsider", 404)])
def test_only_managers_send_test_events(client_as, make_integration, role, status):
    integration, _ = make_integration("pagerduty")
    assert client_as(role).post(f"/integrations/{integration.pk}/test-event/").status_code == status
    assert not Incident.objects.exists()
    assert not entries("integration.test_event_sent").exists()


def test_a_disabled_integration_sends_no_test_event(client_as, make_integration):
    integration, _ = make_integration("pagerduty", enabled=False)
    manager = client_as("manager")
    answer = manager.post(f"/integrations/{integration.pk}/test-event/", follow=True)
    assert "is disabled" in answer.content.decode()
    assert not Incident.objects.exists() and not entries("integration.test_event_sent").exists()


def test_test_event_obeys_routing_rules(client_as, make_integration):
    integration, _ = make_integration("pagerduty")
    manager = client_as("manager")
    manager.post(
        f"/integrations/{integration.pk}/rules/new/",
        {"name": "drop tests", "enabled": "on", "matchers": "labels.test = true", "action": "drop"},
    )
    answer = manager.post(f"/integrations/{integration.pk}/test-event/", follow=True)
    assert not Incident.objects.exists()
    assert "Dropped by rule" in answer.content.decode() and "drop tests" in answer.content.decode()


def test_send_test_event_needs_post(client_as, make_integration):
    integration, _ = make_integration("pagerduty")
    assert client_as("manager").get(f"/integrations/{integration.pk}/test-event/").status_code == 405


# --- the examples, posted as shown ----------------------------------------------------------------


def _request_of(example, key: str, integration, secret: str = ""):
    """The example's URL, headers and body with the key variable filled in, as curl would send."""
    body = example.body.replace("$OPS_INTEGRATION_KEY", key)
    headers = {name: value.replace("$OPS_INTEGRATION_KEY", key) for name, value in example.headers.items()}
    if secret:
        headers[integration.hmac_header] = expected_signature(secret, body.encode(), None)
    path = example.url.removeprefix("http://testserver")
    return path, body, headers


@pytest.mark.parametrize("kind", KINDS)
def test_each_example_is_accepted_as_shown(settings, client, make_integration, kind):
    settings.SITE_URL = "http://testserver"
    integration, key = make_integration(kind, **_values(kind))
    example = samples.example(integration)
    path, body, headers = _request_of(example, key, integration)
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)

    answer = client.post(path, body, content_type="application/json", **extra)

    if kind == "heartbeat":
        assert answer.status_code == 200, answer.content
        integration.refresh_from_db()
        assert integration.last_ping_at is not None
    else:
        assert answer.status_code == 202, answer.content
        incident = Incident.objects.get(integration=integration)
        assert "Example alert" in incident.title
    assert "$OPS_INTEGRATION_KEY" in example.curl and key not in example.curl


def test_signed_grafana_example(settings, client, make_integration):
    settings.SITE_URL = "http://testserver"
    integration, key = make_integration("grafana", hmac_secret="s3cret-shared", hmac_timestamp_header="")
    example = samples.example(integration)
    assert "openssl dgst -sha256 -hmac" in example.curl
    path, body, headers = _request_of(example, key, integration, secret="s3cret-shared")
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    assert client.post(path, body, content_type="application/json", **extra).status_code == 202
    extra[f"HTTP_{integration.hmac_header.upper().replace('-', '_')}"] = "0" * 64
    assert client.post(path, body, content_type="application/json", **extra).status_code == 401


def test_webhook_example_follows_the_integrations_own_mapping(settings, client, make_integration):
    settings.SITE_URL = "http://testserver"
    mapping = {
        "items": "/events",
        "title": "{{ /check/name }} failed on {{ /host }}",
        "dedup_key": "/id",
        "severity": "/level",
        "severity_map": {"P1": "sev1"},
        "labels": {"team": "/owner"},
    }
    integration, key = make_integration("webhook", webhook_mapping=mapping)
    example = samples.example(integration)
    document = json.loads(example.body)
    assert isinstance(document["events"], list)

    answer = post(
        client, example.url.removeprefix("http://testserver"), document, HTTP_AUTHORIZATION=f"Bearer {key}"
    )

    assert answer.status_code == 202, answer.content
    incident = Incident.objects.get(integration=integration)
    assert incident.title == "Example alert from the OpsPlatform console failed on example"
    assert incident.severity == "sev1"


def test_overview_shows_the_example_and_the_masked_url(client_as, settings, make_integration):
    settings.SITE_URL = "https://ops.example.com"
    integration, _ = make_integration("alertmanager")
    page = client_as("operator").get(f"/integrations/{integration.pk}/").content.decode()
    assert "curl -sS -X POST https://ops.example.com/api/v1/integrations/alertmanager/" in page
    assert f"https://ops.example.com/api/v1/integrations/{integration.key_prefix}…••••/alertmanager/" in page
    assert 'id="send-test-event-card"' not in page  # operators see the card, not the button


# --- the per-kind form ----------------------------------------------------------------------------


KIND_ONLY_FIELDS = {
    "grafana": {"hmac_secret", "hmac_header", "hmac_timestamp_header"},
    "webhook": {"webhook_mapping"},
    "heartbeat": {"heartbeat_period_seconds", "heartbeat_grace_seconds"},
}


def _field_names(html: str) -> set[str]:
    return set(re.findall(r'name="([a-z_]+)"', html)) - {"csrfmiddlewaretoken"}


@pytest.mark.parametrize("kind", KINDS)
def test_the_form_has_only_the_fields_of_its_kind(client_as, kind):
    answer = client_as("manager").get(f"/integrations/new/?kind={kind}")
    assert answer.status_code == 200
    names = _field_names(answer.content.decode())
    assert {"name", "service", "enabled", "kind"} <= names
    for other, fields in KIND_ONLY_FIELDS.items():
        if other == kind:
            assert fields <= names
        else:
            assert not (fields & names), (kind, other)
    assert ("grouping" in names) == (kind != "heartbeat")


def test_the_kind_picker_comes_first(client_as):
    manager = client_as("manager")
    picker = manager.get("/integrations/new/").content.decode()
    for kind in KINDS:
        assert f'href="/integrations/new/?kind={kind}"' in picker
    assert "<form" not in picker.split('id="main"')[1]
    unknown = manager.get("/integrations/new/?kind=nagios")
    assert unknown.status_code == 400 and "is not a kind of integration" in unknown.content.decode()


def test_another_kinds_fields_are_ignored(client_as):
    answer = client_as("manager").post(
        "/integrations/new/?kind=alertmanager",
        {
            "kind": "alertmanager",
            "name": "AM",
            "enabled": "on",
            "grouping": "on",
            "group_window_seconds": "60",
            "hmac_secret": "should-not-stick",
            "webhook_mapping": '{"title": "/x"}',
            "heartbeat_period_seconds": "60",
        },
    )
    assert answer.status_code == 200, answer.content
    integration = Integration.objects.get(name="AM")
    assert integration.kind == "alertmanager" and integration.hmac_secret == ""
    assert integration.webhook_mapping == {} and integration.heartbeat_period_seconds is None
    assert integration.group_window_seconds == 60


def test_the_kind_cannot_be_switched_by_posting(client_as):
    answer = client_as("manager").post(
        "/integrations/new/?kind=alertmanager", {"kind": "heartbeat", "name": "Sneaky", "enabled": "on"}
    )
    assert answer.status_code == 400 and "The kind cannot change" in answer.content.decode()
    assert not Integration.objects.exists()


def test_validation_errors_are_form_errors(client_as, make_integration):
    manager = client_as("manager")
    missing = manager.post("/integrations/new/?kind=heartbeat", {"kind": "heartbeat", "name": "Cron"})
    assert missing.status_code == 400
    assert missing.context["form"].errors["heartbeat_period_seconds"] == ["This field is required."]
    make_integration("webhook", name="Taken")
    taken = manager.post("/integrations/new/?kind=webhook", {"kind": "webhook", "name": "Taken"})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    bad_json = manager.post(
        "/integrations/new/?kind=webhook", {"kind": "webhook", "name": "New", "webhook_mapping": "{"}
    )
    assert bad_json.status_code == 400 and "Not valid JSON" in bad_json.content.decode()
    assert Integration.objects.count() == 1


def test_settings_tab_edits_only_its_kinds_fields(client_as, make_integration):
    integration, _ = make_integration("heartbeat", heartbeat_period_seconds=300)
    manager = client_as("manager")
    names = _field_names(manager.get(f"/integrations/{integration.pk}/edit/").content.decode())
    assert "heartbeat_period_seconds" in names and "webhook_mapping" not in names and "kind" not in names
    saved = manager.post(
        f"/integrations/{integration.pk}/edit/",
        {
            "name": "Nightly backup",
            "enabled": "on",
            "heartbeat_period_seconds": "600",
            "hmac_secret": "x" * 20,
        },
    )
    assert saved.status_code == 302
    integration.refresh_from_db()
    assert integration.heartbeat_period_seconds == 600 and integration.hmac_secret == ""
    assert entries("integration.updated", target=integration).count() == 1
