"""Postmortems in the admin: the manager's organization only, and re-sync through the service."""

import pytest

from tests.ledger import entries


@pytest.fixture
def staff_as(client, users, outsider):
    def make(role: str):
        user = outsider if role == "outsider" else users[role]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        client.force_login(user)
        return client

    return make


def test_admin_is_scoped_and_resyncs_through_the_service(staff_as, drafted):
    manager = staff_as("manager")
    listed = manager.get("/admin/postmortems/postmortem/")
    assert list(listed.context["cl"].result_list) == [drafted]
    response = manager.post(
        "/admin/postmortems/postmortem/", {"action": "resync", "_selected_action": [drafted.pk]}
    )
    assert response.status_code == 302
    assert entries("postmortem.resynced", target=drafted).get().actor_label
    outsider = staff_as("outsider")
    assert list(outsider.get("/admin/postmortems/postmortem/").context["cl"].result_list) == []
