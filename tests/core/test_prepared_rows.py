"""Model instances built from hand-written statements' rows (opsplatform/core/prepared.py), as the
ORM builds them: through each field's database converters, and never from a row of the wrong width.
And the values a hand-written INSERT saves, as the ORM saves them, whether a value skips its field's
preparation (already of its column's type) or not."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Field
from django.utils import timezone

from incidents.models import Alert, Incident, Integration, Severity
from opsplatform.core.prepared import insert_fields, insert_params, model_from_row, select_columns
from tests.bench.tenant import bench_tenant

pytestmark = pytest.mark.django_db


def _row(pk):
    # Column names come from the model's metadata; the id is a parameter.
    sql = f"SELECT {select_columns(Integration, 'i')} FROM incidents_integration i WHERE i.id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone()


def test_a_row_becomes_the_instance_the_orm_would_load():
    issued = bench_tenant().integration("alertmanager", "AM", grouping=False)
    loaded = Integration.objects.get(pk=issued.integration.pk)

    built = model_from_row(Integration, _row(loaded.pk))

    for field in Integration._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(loaded, field.attname), field.name
    assert built._state.adding is False and built._state.db == "default"


def test_a_row_of_the_wrong_width_is_refused():
    issued = bench_tenant().integration("alertmanager", "AM")

    with pytest.raises(ValueError, match="Integration"):
        model_from_row(Integration, _row(issued.integration.pk)[:-1])


# --- insert_params: the values of a full-row INSERT, as the ORM would save them -----------------


def _django_prepared(obj) -> list:
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in insert_fields(type(obj))]


def _same(obj) -> None:
    # repr: an int and the Int4 Django wraps it in compare equal, but are not bound alike.
    assert [repr(v) for v in insert_params(obj)] == [repr(v) for v in _django_prepared(obj)]


def _alert(**fields) -> Alert:
    now = timezone.now()
    values = {"organization_id": 1, "incident_id": 2, "integration_id": 3, "dedup_key": "k", "title": "t"}
    return Alert(**{**values, "labels": {"a": "é"}, "first_seen_at": now, "last_seen_at": now, **fields})


def test_an_incident_and_an_alert_as_ingestion_builds_them_are_saved_as_the_orm_saves_them():
    now = timezone.now()
    incident = Incident(
        organization_id=1,
        title="Checkout — error rate",
        dedup_key="k",
        labels={"env": "prod"},
        severity=Severity.SEV2,
        created_at=now,
        updated_at=now,
        next_escalation_at=now,
        alert_occurrences=3,
        integration_id=7,
    )
    _same(incident)
    _same(_alert(occurrences=4, active=True, resolved_at=None))


@pytest.mark.parametrize(
    "fields",
    [
        {"title": 123},  # an int where the column takes text: made a string by the field
        {"occurrences": "5"},  # a string where it takes an integer: made an Int4
        {"occurrences": True},  # a bool is not an int here
        {"active": 1},  # an int where it takes a boolean
        {"incident_id": "2"},  # a key given as text
        {"resolved_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
        {"occurrences": None, "active": None},  # NULL in NOT NULL columns: the field decides
    ],
)
def test_values_of_another_type_are_prepared_by_their_field(fields):
    obj = _alert(**fields)
    try:
        expected = [repr(v) for v in _django_prepared(obj)]
    except (TypeError, ValueError, ValidationError) as exc:
        with pytest.raises(type(exc)):
            insert_params(obj)
        return
    assert [repr(v) for v in insert_params(obj)] == expected


def test_a_naive_time_is_made_aware_by_its_field_with_its_warning():
    obj = _alert(last_seen_at=datetime(2026, 1, 2, 3, 4, 5))  # naive on purpose
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        params = insert_params(obj)
    column = [f.attname for f in insert_fields(Alert)].index("last_seen_at")
    assert params[column].tzinfo is not None


def test_only_values_not_already_of_their_columns_type_go_through_their_field(monkeypatch):
    prepared_fields = []
    original = Field.get_db_prep_save

    def counting(field, value, connection):
        prepared_fields.append(field.name)
        return original(field, value, connection)

    monkeypatch.setattr(Field, "get_db_prep_save", counting)
    now = timezone.now()
    incident = Incident(
        organization_id=1, title="t", dedup_key="k", created_at=now, updated_at=now, alert_occurrences=1
    )
    params = insert_params(incident)

    assert len(params) == len(insert_fields(Incident))
    # JSON and the choices' enum members are prepared by their fields; text, integers, keys and
    # aware times (most of the 41 columns) are not.
    assert "labels" in prepared_fields
    for skipped in ("title", "dedup_key", "organization", "created_at", "alert_occurrences"):
        assert skipped not in prepared_fields
    assert len(prepared_fields) < len(params) / 3
