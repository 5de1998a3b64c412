"""Webhook subscribers through the API and the operators' page: the secret shown once, bad or refused
URLs answered 400 with a reason (problem+json on the API, a form error on the page), roles, tenancy."""

import pytest

from monitoring.statuspages.models import StatusSubscriber
from tests.ledger import verbs

pytestmark = pytest.mark.django_db


def add(api, page, url, **extra):
    return api.post(f"/api/v1/status-pages/{page.pk}/webhooks/", {"url": url, **extra}, format="json")


def test_add_through_the_api_shows_the_secret_once(api_as, page, receiver):
    manager = api_as("manager")
    response = add(manager, page, receiver.url("/in?token=s3cret"), description="Chat bot")
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["signing_secret"].startswith("whsec_")
    assert body["endpoint"] == "http://127.0.0.1/…" and "url" not in body
    assert (body["active"], body["description"], body["page"]) == (True, "Chat bot", page.pk)
    hook = StatusSubscriber.objects.get(pk=body["id"])
    assert (hook.kind, hook.url, hook.confirmed_at is not None) == (
        "webhook",
        receiver.url("/in?token=s3cret"),
        True,
    )
    assert verbs(hook) == ["status_subscriber.webhook_added"]

    listed = api_as("viewer").get(f"/api/v1/status-pages/{page.pk}/webhooks/").json()
    assert [h["id"] for h in listed] == [hook.pk]
    assert "signing_secret" not in listed[0] and "s3cret" not in str(listed)
    detail = api_as("viewer").get(f"/api/v1/status-webhooks/{hook.pk}/")
    assert detail.status_code == 200 and "signing_secret" not in detail.json()

    again = add(manager, page, receiver.url("/in?token=s3cret"))
    assert again.status_code == 400 and "already" in str(again.json())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "Only http:// and https:// URLs are allowed."),
        ("not a url", "Only http:// and https:// URLs are allowed."),
        ("https://user:pw@example.com/hook", "Credentials in the URL are not allowed"),
        ("http://127.0.0.1:9/hook", "127.0.0.1 is not a public address."),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address."),
        ("http://localhost:8080/hook", "localhost resolves to a non-public address"),
        ("", "This field may not be blank."),
    ],
)
def test_bad_or_refused_urls_are_problem_json(api_as, page, settings, url, reason):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # as deployed: the SSRF guard refuses loopback
    response = add(api_as("manager"), page, url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert any(e["field"] == "url" and reason in e["message"] for e in errors), errors
    assert not StatusSubscriber.objects.exists()


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("operator", 403), ("outsider", 404)])
def test_only_managers_add_or_remove(api_as, page, hook, receiver, role, expected):
    api = api_as(role)
    assert add(api, page, receiver.url("/other")).status_code == expected
    assert api.delete(f"/api/v1/status-webhooks/{hook[0].pk}/").status_code == expected
    assert api.post(f"/api/v1/status-webhooks/{hook[0].pk}/enable/").status_code == expected
    assert StatusSubscriber.objects.count() == 1


def test_remove_and_enable_through_the_api(api_as, page, hook):
    subscriber = hook[0]
    manager = api_as("manager")
    StatusSubscriber.objects.filter(pk=subscriber.pk).update(
        disabled_at=subscriber.created_at, disabled_reason="x"
    )
    enabled = manager.post(f"/api/v1/status-webhooks/{subscriber.pk}/enable/")
    assert enabled.status_code == 200 and enabled.json()["active"] is True
    assert manager.delete(f"/api/v1/status-webhooks/{subscriber.pk}/").status_code == 204
    assert not StatusSubscriber.objects.exists()
    # E-mail subscribers are not webhooks: the webhook routes do not reach them.
    reader = StatusSubscriber.objects.create(organization=page.organization, page=page, email="r@example.com")
    assert manager.get(f"/api/v1/status-webhooks/{reader.pk}/").status_code == 404


def test_the_schema_lists_the_webhook_endpoints(api_as):
    schema = api_as("viewer").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/status-pages/{id}/webhooks/",
        "/api/v1/status-webhooks/{id}/",
        "/api/v1/status-webhooks/{id}/enable/",
    ):
        assert path in schema["paths"], path


def test_the_page_adds_shows_the_secret_once_and_removes(client_as, page, receiver):
    manager = client_as("manager")
    response = manager.post(
        f"/monitors/status-pages/{page.pk}/webhooks/", {"url": receiver.url("/x"), "description": "Bot"}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="signing-secret">whsec_' in text and "Webhook subscriber added." in text
    hook = StatusSubscriber.objects.get(kind="webhook")
    listing = manager.get(f"/monitors/status-pages/{page.pk}/").content.decode()
    assert "http://127.0.0.1/…" in listing and "Nothing sent yet" in listing and "whsec_" not in listing

    response = manager.post(f"/monitors/status-pages/webhooks/{hook.pk}/delete/")
    assert response.status_code == 302
    assert not StatusSubscriber.objects.exists()
    assert verbs(hook) == ["status_subscriber.webhook_added", "status_subscriber.webhook_removed"]


def test_a_refused_url_reopens_the_dialog_with_the_reason(client_as, page, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = client_as("manager").post(
        f"/monitors/status-pages/{page.pk}/webhooks/", {"url": "http://10.0.0.8/h"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="new-webhook" class="dialog" data-open' in text
    assert "10.0.0.8 is not a public address." in text
    assert not StatusSubscriber.objects.exists()


def test_a_disabled_endpoint_shows_why_and_can_be_enabled(client_as, page, hook):
    subscriber = hook[0]
    StatusSubscriber.objects.filter(pk=subscriber.pk).update(
        disabled_at=subscriber.created_at, disabled_reason="The endpoint answered 410 Gone."
    )
    viewer_text = client_as("viewer").get(f"/monitors/status-pages/{page.pk}/").content.decode()
    assert "The endpoint answered 410 Gone." in viewer_text and "Add webhook" not in viewer_text
    assert (
        client_as("viewer").post(f"/monitors/status-pages/webhooks/{subscriber.pk}/enable/").status_code
        == 403
    )
    assert (
        client_as("outsider").post(f"/monitors/status-pages/webhooks/{subscriber.pk}/enable/").status_code
        == 404
    )
    response = client_as("manager").post(f"/monitors/status-pages/webhooks/{subscriber.pk}/enable/")
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.active
