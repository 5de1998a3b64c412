"""Status pages in the admin: scoped to the manager's organizations, rows read-only, publishing
through the service (ledger entry included)."""

import pytest

from monitoring.statuspages.models import StatusPage, StatusSubscriber
from monitoring.statuspages.services import page_create
from opsplatform.core.actors import Actor
from tests.ledger import verbs

pytestmark = pytest.mark.django_db


def test_admin_is_scoped_and_publishing_goes_through_the_service(client, users, page, other_org, outsider):
    theirs = page_create(actor=Actor.for_member(outsider, other_org), title="Globex status")
    manager = users["manager"]
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client.force_login(manager)
    listing = client.get("/admin/statuspages/statuspage/").content.decode()
    assert "Acme status" in listing and "Globex status" not in listing
    assert client.get(f"/admin/statuspages/statuspage/{theirs.pk}/change/").status_code == 302
    client.post(
        "/admin/statuspages/statuspage/", {"action": "unpublish", "_selected_action": [page.pk, theirs.pk]}
    )
    page.refresh_from_db()
    theirs.refresh_from_db()
    assert page.published is False and theirs.published is False  # theirs was never published
    assert verbs(page) == ["status_page.created", "status_page.updated"]
    assert verbs(theirs) == ["status_page.created"]
    assert StatusPage.objects.count() == 2


def test_webhook_subscribers_in_the_admin_hide_url_and_secret_and_enable_through_the_service(
    client, users, page, hook
):
    subscriber, secret = hook
    StatusSubscriber.objects.filter(pk=subscriber.pk).update(disabled_at=subscriber.created_at)
    manager = users["manager"]
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client.force_login(manager)
    listing = client.get("/admin/statuspages/statussubscriber/").content.decode()
    assert "http://127.0.0.1/…" in listing and "/status-hook" not in listing
    detail = client.get(f"/admin/statuspages/statussubscriber/{subscriber.pk}/change/").content.decode()
    assert "/status-hook" not in detail and secret not in detail and subscriber.secret not in detail
    client.post(
        "/admin/statuspages/statussubscriber/",
        {"action": "enable_webhooks", "_selected_action": [subscriber.pk]},
    )
    subscriber.refresh_from_db()
    assert subscriber.active
    assert verbs(subscriber) == ["status_subscriber.webhook_added", "status_subscriber.webhook_enabled"]
