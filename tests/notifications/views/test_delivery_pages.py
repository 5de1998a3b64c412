"""The deliveries page: every outbox row, paged, filtered through the URL, retries folded into one line,
and the bulk resend of dead letters (each resent once, anything else refused with a reason)."""

import re

import pytest
from django.utils.html import escape

from notifications.delivery import run_delivery_tick
from notifications.models import Notification, NotificationStatus
from tests.ledger import entries
from tests.notifications.ticks import drive, escalate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback", "fast_retries")]

URL = "/oncall/deliveries/"


@pytest.fixture
def rows(webhook, open_incident, receiver):
    """Two dead letters (the receiver answered 404, which is final) and one delivered row."""
    receiver.respond_with(then=404)
    dead = []
    for title in ("Disk full on db-1", "Queue backlog"):
        _, row = escalate(open_incident, title=title)
        run_delivery_tick(now=row.next_attempt_at)
        row.refresh_from_db()
        assert row.status == NotificationStatus.DEAD
        dead.append(row)
    receiver.respond_with(then=200)
    _, sent = escalate(open_incident, title="Latency spike")
    run_delivery_tick(now=sent.next_attempt_at)
    sent.refresh_from_db()
    assert sent.status == NotificationStatus.SENT
    return {"dead": dead, "sent": sent}


def shown(response) -> list[int]:
    return [row.pk for row in response.context["page"].object_list]


def flashed(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_bulk_resend_resends_dead_letters_once_and_refuses_the_rest(client_as, rows):
    client = client_as("operator")
    dead, sent = rows["dead"], rows["sent"]
    ids = [dead[0].pk, dead[1].pk, sent.pk]

    response = client.post(f"{URL}?status=dead", {"notification": ids}, follow=True)

    assert response.redirect_chain == [(f"{URL}?status=dead", 302)]
    for row in dead:
        row.refresh_from_db()
        assert (row.status, row.resend_count) == (NotificationStatus.PENDING, 1)
        assert row.max_attempts == row.attempts + 5
    before = Notification.objects.values().get(pk=sent.pk)
    sent.refresh_from_db()
    assert Notification.objects.values().get(pk=sent.pk) == before and sent.resend_count == 0
    resends = entries("notification.resend_requested")
    assert sorted(e.data["notification"] for e in resends) == sorted(r.pk for r in dead)
    assert sorted(int(e.target_id) for e in resends) == sorted(r.incident_id for r in dead)
    messages = flashed(response)
    assert "Resent 2 dead letters; delivery starts again." in messages
    assert f"Not resent: #{sent.pk} (sent, not a dead letter). Only dead letters can be resent." in messages

    # The same selection again (a double submit): nothing is queued a second time.
    again = client.post(URL, {"notification": ids}, follow=True)
    assert entries("notification.resend_requested").count() == 2
    assert {r.resend_count for r in Notification.objects.filter(pk__in=[d.pk for d in dead])} == {1}
    assert not any(m.startswith("Resent") for m in flashed(again))
    assert any(f"#{dead[0].pk} (pending, not a dead letter)" in m for m in flashed(again))


def test_bulk_resend_with_nothing_selected_says_so(client_as, rows):
    response = client_as("operator").post(URL, {}, follow=True)
    assert "Select the dead letters to resend first." in flashed(response)
    assert not entries("notification.resend_requested").exists()


def test_viewers_may_not_bulk_resend(client_as, rows):
    response = client_as("viewer").post(URL, {"notification": [r.pk for r in rows["dead"]]})
    assert response.status_code == 403
    assert set(Notification.objects.values_list("status", flat=True)) == {"dead", "sent"}
    assert not entries("notification.resend_requested").exists()


def test_another_organizations_rows_are_not_found(client_as, rows):
    response = client_as("outsider").post(URL, {"notification": [r.pk for r in rows["dead"]]}, follow=True)
    assert "Not resent: 2 not found. Only dead letters can be resent." in flashed(response)
    assert Notification.objects.filter(status=NotificationStatus.DEAD).count() == 2
    assert not entries("notification.resend_requested").exists()


def test_filters_round_trip_through_the_url(client_as, rows, webhook):
    client = client_as("viewer")
    dead = rows["dead"]
    response = client.get(URL, {"status": ["dead", "failed"], "medium": "webhook", "channel": webhook.pk})
    html = response.content.decode()
    assert sorted(shown(response)) == sorted(r.pk for r in dead)
    assert re.search(r'name="status" value="dead" checked', html)
    assert re.search(r'name="status" value="failed" checked', html)
    assert not re.search(r'name="status" value="sent" checked', html)
    assert re.search(r'name="medium" value="webhook" checked', html)
    assert re.search(rf'name="channel" value="{webhook.pk}" checked', html)

    one = client.get(URL, {"incident": dead[1].incident_id})
    assert shown(one) == [dead[1].pk]
    assert f'name="incident" value="{dead[1].incident_id}"' in one.content.decode()
    assert shown(client.get(URL, {"status": "sent"})) == [rows["sent"].pk]


@pytest.mark.parametrize("params", [{"incident": "abc"}, {"status": "exploded"}, {"channel": "x"}])
def test_bad_filters_are_form_errors(client_as, rows, params):
    response = client_as("viewer").get(URL, params)
    assert response.status_code == 200
    assert response.context["form"].errors and shown(response) == []
    assert 'role="alert"' in response.content.decode()


def test_pages_keep_the_filters(client_as, org, open_incident, webhook):
    incident = open_incident()
    for n in range(55):
        Notification.objects.create(
            organization=org,
            incident=incident,
            channel=webhook,
            idempotency_key=f"page-test-{n}",
            medium="webhook",
            destination="hooks.example",
            status=NotificationStatus.DEAD if n % 5 else NotificationStatus.SENT,
        )
    client = client_as("viewer")
    first = client.get(URL)
    assert len(shown(first)) == 50 and first.context["page"].has_next
    assert 'href="?page=2" rel="next"' in first.content.decode()
    second = client.get(URL, {"page": 2})
    assert len(shown(second)) == 5 and not second.context["page"].has_next
    assert set(shown(first)).isdisjoint(shown(second))

    dead = client.get(URL, {"status": "dead"})
    assert len(shown(dead)) == 44 and not dead.context["page"].has_next
    dead_first = client.get(URL, {"status": "dead", "medium": "webhook"})
    assert 'rel="next"' not in dead_first.content.decode()
    all_dead = client.get(URL, {"status": ["dead", "sent"]})
    assert 'href="?status=dead&amp;status=sent&amp;page=2" rel="next"' in all_dead.content.decode()


def test_retries_are_folded_into_one_line(client_as, webhook, open_incident, receiver):
    receiver.respond_with(then=500)
    _, row = escalate(open_incident)
    drive(lambda: Notification.objects.get(pk=row.pk).status == NotificationStatus.DEAD, row.next_attempt_at)
    row.refresh_from_db()
    html = client_as("viewer").get(URL).content.decode()
    assert escape(f"5 attempts failed, last error: {row.last_error}") in html
    assert html.count('<ol class="attempts">') == 1


def test_empty_page_says_what_to_do(client_as, org):
    html = client_as("viewer").get(URL).content.decode()
    assert "Nothing sent yet" in html and 'href="/oncall/policies/"' in html
    filtered = client_as("viewer").get(URL, {"status": "dead"}).content.decode()
    assert "No deliveries match these filters" in filtered
