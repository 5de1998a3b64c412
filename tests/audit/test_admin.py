"""The ledger in the admin: read-only, and a manager sees only their organization's entries."""

import pytest

from audit.models import LedgerEntry
from audit.services import record
from opsplatform.core.actors import Actor

CHANGELIST = "/admin/audit/ledgerentry/"


def change_url(entry) -> str:
    return f"{CHANGELIST}{entry.pk}/change/"


@pytest.fixture
def entries(org, other_org, team, actor_as):
    return {
        "own": record(
            actor=actor_as("manager"), verb="team.updated", target=team, data={"k": "acme-visible"}
        ),
        "foreign": record(actor=Actor.system("job"), verb="globex.secret_event", organization=other_org),
        "platform": record(actor=Actor.system("job"), verb="platform.maintenance"),
    }


@pytest.fixture
def staff_as(client, users, outsider):
    def make(role: str):
        user = outsider if role == "outsider" else users[role]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return make


@pytest.mark.django_db
def test_staff_manager_sees_their_organizations_entries_only(staff_as, entries):
    response = staff_as("manager").get(CHANGELIST)

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown == [entries["own"]]
    content = response.content.decode()
    assert "globex.secret_event" not in content
    assert "platform.maintenance" not in content
    assert "Globex" not in content  # not even in the organization filter


@pytest.mark.django_db
def test_outsider_staff_sees_only_globex(staff_as, entries):
    response = staff_as("outsider").get(CHANGELIST)

    assert list(response.context["cl"].result_list) == [entries["foreign"]]


@pytest.mark.django_db
def test_own_entry_detail_is_read_only(staff_as, entries):
    entry = entries["own"]
    client = staff_as("manager")

    page = client.get(change_url(entry))
    count_before = LedgerEntry.objects.count()
    post = client.post(change_url(entry), {"verb": "forged"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert "acme-visible" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert post.status_code == 403
    entry.refresh_from_db()
    assert entry.verb == "team.updated"
    assert LedgerEntry.objects.count() == count_before


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["foreign", "platform"])
def test_entries_outside_ones_organizations_are_not_found(staff_as, entries, which):
    response = staff_as("manager").get(change_url(entries[which]))

    # The admin's "not found": a redirect to its index with a message, nothing of the entry shown.
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    followed = staff_as("manager").get(change_url(entries[which]), follow=True)
    assert "Perhaps it was deleted?" in followed.content.decode()
    assert entries[which].verb not in followed.content.decode()


@pytest.mark.django_db
def test_no_add_or_delete(staff_as, entries):
    client = staff_as("owner")
    entry = entries["own"]

    count_before = LedgerEntry.objects.count()
    add = client.get(f"{CHANGELIST}add/")
    delete_page = client.get(f"{CHANGELIST}{entry.pk}/delete/")
    delete = client.post(f"{CHANGELIST}{entry.pk}/delete/", {"post": "yes"})

    assert add.status_code == 403
    assert delete_page.status_code == 403
    assert delete.status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert LedgerEntry.objects.count() == count_before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_staff_without_a_managing_role_is_refused(staff_as, entries, role):
    response = staff_as(role).get(CHANGELIST)

    assert response.status_code == 403


@pytest.mark.django_db
def test_non_staff_member_is_sent_to_the_admin_login(client_as, entries):
    response = client_as("owner").get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_superuser_sees_every_chain(client, entries, user_factory):
    client.force_login(user_factory(is_staff=True, is_superuser=True))

    response = client.get(CHANGELIST)
    platform_only = client.get(CHANGELIST, {"organization": "platform"})

    assert set(response.context["cl"].result_list) == set(entries.values())
    assert list(platform_only.context["cl"].result_list) == [entries["platform"]]


@pytest.mark.django_db
def test_filters_and_search_stay_scoped(staff_as, entries, other_org):
    client = staff_as("manager")

    by_foreign_org = client.get(CHANGELIST, {"organization": str(other_org.pk)})
    search = client.get(CHANGELIST, {"q": "globex"})
    by_verb = client.get(CHANGELIST, {"verb": "team.updated"})

    assert list(by_foreign_org.context["cl"].result_list) == []
    assert list(search.context["cl"].result_list) == []
    assert list(by_verb.context["cl"].result_list) == [entries["own"]]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["²", "\u0661", "99999999999999999999"])
def test_malformed_organization_filter_is_ignored_not_a_crash(staff_as, entries, value):
    response = staff_as("manager").get(CHANGELIST, {"organization": value})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entries["own"]]
