"""The data retention page (managers read, admins change), the archived-entries page, the audit log's
note on where older entries went, and the checkpoints and public-key API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.archive import signing
from audit.models import RetentionOverride, RetentionRun
from audit.services import record
from opsplatform.core.actors import Actor
from tests.ledger import entries
from tests.retention import keep_days, purge

pytestmark = pytest.mark.django_db
URL = "/audit/retention/"


@pytest.fixture(autouse=True)
def archive_settings(settings, tmp_path):
    settings.LEDGER_ARCHIVE_DIR = tmp_path / "archive"
    settings.LEDGER_SIGNING_KEY = signing.generate_key_text()
    settings.LEDGER_ARCHIVE_SPAN = 3
    settings.MONGO_URL = ""


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("operator", 403), ("manager", 200), ("admin", 200)]
)
def test_managers_read_the_page(client_as, role, status):
    response = client_as(role).get(URL)

    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "Raw alert payloads" in body and "Ledger entries in the database" in body
        assert ('name="days"' in body) == (role == "admin")


def test_an_admin_sets_and_clears_an_override(client_as, org):
    client = client_as("admin")

    response = client.post(URL, {"kind": "notification_attempts", "days": "30"})

    assert response.status_code == 302
    assert RetentionOverride.objects.get(organization=org, kind="notification_attempts").days == 30
    assert entries("retention.set", organization=org).count() == 1
    client.post(URL, {"kind": "notification_attempts", "days": ""})
    assert not RetentionOverride.objects.exists()
    assert entries("retention.reset", organization=org).count() == 1


def test_out_of_bounds_is_a_form_error_not_a_write(client_as, org):
    response = client_as("admin").post(URL, {"kind": "raw_payloads", "days": "9999"})

    assert response.status_code == 400
    assert "must be between" in response.content.decode()
    assert not RetentionOverride.objects.exists()


def test_a_manager_cannot_post(client_as):
    assert client_as("manager").post(URL, {"kind": "raw_payloads", "days": "3"}).status_code == 403
    assert not RetentionOverride.objects.exists()


def test_runs_and_archived_entries_are_shown_and_read_back(client_as, org, settings):
    keep_days(settings, "ledger_hot", 365)
    actor = Actor.system("test", organization=org)
    for n in range(5):
        record(actor=actor, verb="test.archived", organization=org, data={"n": n})
    purge("ledger_hot", now=timezone.now() + timedelta(days=400), organization_id=org.pk)
    assert RetentionRun.objects.filter(organization=org, kind="ledger_hot", removed=4).exists()
    client = client_as("manager")

    page = client.get(URL).content.decode()
    log = client.get("/audit/").content.decode()
    archived = client.get(reverse("audit:archived")).content.decode()

    assert "#1\N{EN DASH}#3" in page and "#4\N{EN DASH}#4" in page
    assert "Entries #1\N{EN DASH}#4 were moved to the archive" in log
    assert archived.count("test.archived") == 4


def test_checkpoints_api_and_public_key(api_as, org, other_org, settings):
    keep_days(settings, "ledger_hot", 365)
    for chain in (org, other_org):
        actor = Actor.system("test", organization=chain)
        for n in range(4):
            record(actor=actor, verb="test.archived", organization=chain, data={"n": n})
    purge("ledger_hot", now=timezone.now() + timedelta(days=400))

    listed = api_as("manager").get("/api/v1/ledger/checkpoints/")
    key = api_as("viewer").get("/api/v1/ledger/public-key/")

    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [(c["first_sequence"], c["last_sequence"]) for c in results] == [(1, 3)]
    assert signing.verify(results[0]["signed_payload"], results[0]["signature"]) is None
    assert key.status_code == 200 and key.json()["keys"][signing.current_key_id()] == signing.public_key_b64()
    assert api_as("viewer").get("/api/v1/ledger/checkpoints/").status_code == 403
