"""Model instances built from hand-written statements' rows (opsplatform/core/prepared.py), as the
ORM builds them: through each field's database converters, and never from a row of the wrong width."""

import pytest
from django.db import connection

from incidents.models import Integration
from opsplatform.core.prepared import model_from_row, select_columns
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
