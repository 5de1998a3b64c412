"""The best matching runbook is linked in an incident's page message: a Slack channel (a loopback
HTTP peer standing in for the webhook) and e-mail (a real SMTP server on loopback). Notifications
sits below knowledge, so the link comes through ``notifications.message_links``."""

from email import message_from_bytes

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from incidents.services import incident_create
from knowledge.contributions import top_runbook_link
from knowledge.services.spaces import space_create
from notifications import message_links
from notifications.models import ContactKind, ContactMethod, NotificationRule
from tests.notifications.conftest import LOOPBACK
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import http_receiver, mail_through, smtp_server
from tests.notifications.ticks import page

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with http_receiver() as peer, override_settings(OUTBOUND_ALLOWED_NETWORKS=LOOPBACK):
        yield peer


@pytest.fixture
def smtp():
    with (
        smtp_server() as (port, messages),
        mail_through(port),
    ):
        yield messages


@pytest.fixture
def open_incident(actor_as, checkout):
    def make(**kwargs):
        kwargs.setdefault("title", "Checkout DB down")
        kwargs.setdefault("service", checkout)
        kwargs.setdefault("severity", "sev1")
        kwargs.setdefault("labels", {"db": "postgres"})
        return incident_create(actor=actor_as("operator"), **kwargs)

    return make


@pytest.fixture
def runbooks(write, actor_as, checkout, team):
    """A general runbook in the organization-wide space and a better fitting one in a team space."""
    team_space = space_create(actor=actor_as("manager"), name="Payments runbooks", team=team)
    general = write("Checkout <general> runbook", "- [ ] Look", runbook_for={"services": [checkout.pk]})
    specific = write(
        "Checkout Postgres failover",
        "- [ ] Promote",
        runbook_for={"services": [checkout.pk], "labels": {"db": "postgres"}},
        space=team_space,
    )
    return general, specific


def test_slack_channel_message_links_the_top_runbook_the_room_may_read(
    org, checkout, open_incident, receiver, runbooks
):
    general, _ = runbooks
    channel = make_channel(org, kind="slack", url=receiver.url("/slack")).channel
    make_policy(org, step(("channel", channel)), services=[checkout])
    incident, stats = page(open_incident)
    assert stats.sent == 1
    body = receiver.requests[0].json()
    url = f"{settings.SITE_URL}/knowledge/articles/{general.pk}/?incident={incident.pk}"
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    # A room: the team's better-fitting runbook is not shown to everyone who reads the channel.
    assert f"Runbook: <{url}|Checkout &lt;general&gt; runbook>" in sections
    assert "failover" not in receiver.requests[0].body.decode().lower()
    buttons = body["blocks"][-1]["elements"]
    assert buttons[-1] == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Runbook: Checkout <general> runbook"},
        "url": url,
    }


def test_personal_email_links_the_best_runbook_the_person_may_read(
    org, users, checkout, open_incident, smtp, runbooks
):
    _, specific = runbooks
    operator = users["operator"]  # a member of the team whose space holds the specific runbook
    contact = ContactMethod.objects.create(
        user=operator, kind=ContactKind.EMAIL, address="pager@example.test", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=contact, delay_minutes=0)
    make_policy(org, step(("user", operator)), services=[checkout])
    incident, stats = page(open_incident)
    assert stats.sent == 1 and [e.rcpt_tos for e in smtp] == [["pager@example.test"]]
    body = message_from_bytes(smtp[0].content).get_payload(decode=True).decode()
    url = f"{settings.SITE_URL}/knowledge/articles/{specific.pk}/?incident={incident.pk}"
    assert f"Runbook: Checkout Postgres failover {url}" in body.splitlines()


def test_email_channel_without_a_matching_runbook_has_no_link(org, checkout, open_incident, smtp, write):
    write("Another service's runbook", "- [ ] x", runbook_for={"severities": ["sev4"]})
    channel = make_channel(org, kind="email", recipients=["oncall@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[checkout])
    page(open_incident)
    body = message_from_bytes(smtp[0].content).get_payload(decode=True).decode()
    assert "/incidents/" in body and "Runbook" not in body


def test_a_failing_link_provider_costs_its_link_not_the_page(org, checkout, open_incident, smtp, runbooks):
    def broken(incident, recipient):
        raise RuntimeError("knowledge is down")

    message_links.register("broken", broken)
    try:
        channel = make_channel(org, kind="email", recipients=["oncall@example.test"]).channel
        make_policy(org, step(("channel", channel)), services=[checkout])
        _, stats = page(open_incident)
    finally:
        message_links._providers.pop("broken")
    assert stats.sent == 1
    body = message_from_bytes(smtp[0].content).get_payload(decode=True).decode()
    assert "Runbook: Checkout <general> runbook" in body


def test_runbook_candidates_are_read_once_and_follow_article_changes(
    org, checkout, open_incident, write, django_assert_num_queries
):
    """Pages of a storm share the list of runbooks a reader may see (``knowledge.contributions``):
    the second page's link costs no query, and a new or edited runbook shows in the next page."""
    incident = open_incident()
    assert top_runbook_link(incident, None) is None
    with django_assert_num_queries(0):
        assert top_runbook_link(incident, None) is None
    article = write("Checkout first aid", "- [ ] Look", runbook_for={"services": [checkout.pk]})
    link = top_runbook_link(incident, None)
    assert link is not None and link.title == "Checkout first aid"
    article.title = "Checkout first aid, revised"
    article.save(update_fields=["title"])
    assert top_runbook_link(incident, None).title == "Checkout first aid, revised"
