"""Every model change has its migration: a deployment's ``migrate`` must leave the schema the code
expects, not one a later ``makemigrations`` would still change."""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"model changes without a migration (exit {exit_.code}):\n{out.getvalue()}")
