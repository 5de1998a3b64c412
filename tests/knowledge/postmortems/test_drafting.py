"""The draft is what the ledger says: every entry about the incidents, with actor, time and hash."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import LedgerEntry
from audit.selectors import timeline_for
from incidents import services as incident_services
from knowledge.postmortems.models import Postmortem, PostmortemStatus
from knowledge.postmortems.services import postmortem_draft, postmortem_resync, postmortem_save
from tests.ledger import entries


def _rows(postmortem):
    return list(
        postmortem.timeline.values_list(
            "sequence", "entry_hash", "verb", "actor_label", "occurred_at", "incident_id"
        )
    )


def _ledger(*incidents):
    rows = [
        (e.sequence, e.entry_hash, e.verb, e.actor_label, e.created_at, i.pk)
        for i in incidents
        for e in timeline_for(i)
    ]
    return sorted(rows)


def test_draft_timeline_equals_the_incident_ledger(drafted, users):
    incident = drafted.incident
    assert _rows(drafted) == _ledger(incident)
    verbs = [row[2] for row in _rows(drafted)]
    assert verbs[0] == "incident.triggered"
    assert {"incident.acknowledged", "incident.note_added", "incident.resolved"} <= set(verbs)
    note = drafted.timeline.get(verb="incident.note_added")
    assert note.text == "DB pool exhausted"
    assert (
        note.actor_label
        == LedgerEntry.objects.get(sequence=note.sequence, organization=incident.organization).actor_label
    )
    assert note.kind == "note"
    assert drafted.timeline.get(verb="incident.acknowledged").kind == "state"


def test_draft_facts_come_from_the_ledger(drafted):
    incident = drafted.incident
    trig = entries("incident.triggered", target=incident).get().created_at
    ack = entries("incident.acknowledged", target=incident).get().created_at
    res = entries("incident.resolved", target=incident).get().created_at
    facts = drafted.facts
    assert facts["impact_start"] == trig.isoformat()
    assert facts["impact_end"] == res.isoformat()
    assert facts["mtta_seconds"] == int((ack - trig).total_seconds())
    assert facts["mttr_seconds"] == int((res - trig).total_seconds())
    assert facts["services"] == ["Checkout API"]
    assert facts["sla"] == "no SLA policy"
    labels = list(entries(target=incident).filter(actor_type="user").values_list("actor_label", flat=True))
    assert facts["responders"] == list(dict.fromkeys(labels))
    assert len(facts["responders"]) == 2  # the operator and the manager who wrote the note
    assert drafted.revision == 1 and drafted.revisions.get().number == 1
    assert entries("postmortem.drafted", target=drafted).get().data["timeline"] == drafted.timeline.count()


def test_drafting_again_returns_the_same_postmortem(drafted, actor_as):
    again, created = postmortem_draft(actor=actor_as("operator"), incident=drafted.incident)
    assert (again.pk, created) == (drafted.pk, False)
    assert Postmortem.objects.count() == 1


def test_open_incident_cannot_have_a_postmortem(actor_as, service):
    incident = incident_services.incident_create(
        actor=actor_as("operator"), title="Still burning", service=service
    )
    with pytest.raises(ValidationError, match="resolved"):
        postmortem_draft(actor=actor_as("operator"), incident=incident)
    assert not Postmortem.objects.exists()


def test_merged_incidents_join_the_timeline(resolved_incident, actor_as, service):
    operator = actor_as("operator")
    target = incident_services.incident_create(actor=operator, title="Checkout down", service=service)
    source = incident_services.incident_create(actor=operator, title="Payments 5xx", service=service)
    incident_services.incident_merge(actor=operator, target=target, source=source)
    incident_services.incident_resolve(actor=operator, incident=target)
    target.refresh_from_db()
    source.refresh_from_db()
    with pytest.raises(ValidationError, match="merged into"):
        postmortem_draft(actor=operator, incident=source)
    postmortem, _ = postmortem_draft(actor=operator, incident=target)
    assert set(postmortem.incidents.values_list("pk", flat=True)) == {target.pk, source.pk}
    assert _rows(postmortem) == _ledger(target, source)
    assert {"incident.merged", "incident.merged_in"} <= set(
        postmortem.timeline.values_list("verb", flat=True)
    )
    assert postmortem.facts["incidents"] == sorted([target.pk, source.pk])


def test_resync_refreshes_timeline_and_keeps_sections(drafted, actor_as):
    operator = actor_as("operator")
    drafted = postmortem_save(
        actor=operator, postmortem=drafted, base_revision=1, sections={"root_cause": "Pool too small"}
    )
    incident = drafted.incident
    incident_services.incident_add_note(actor=operator, incident=incident, body="Follow-up: raise the pool")
    assert drafted.timeline.filter(verb="incident.note_added").count() == 1
    resynced = postmortem_resync(actor=operator, postmortem=drafted)
    assert _rows(resynced) == _ledger(incident)
    assert resynced.timeline.filter(verb="incident.note_added").count() == 2
    assert resynced.root_cause == "Pool too small"
    assert resynced.revision == 2
    assert entries("postmortem.resynced", target=resynced).count() == 1


def test_viewer_cannot_draft(resolved_incident, actor_as):
    from django.core.exceptions import PermissionDenied

    incident = resolved_incident()
    with pytest.raises(PermissionDenied):
        postmortem_draft(actor=actor_as("viewer"), incident=incident)
    assert Postmortem.objects.filter(status=PostmortemStatus.DRAFT).count() == 0
