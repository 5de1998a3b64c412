"""Deactivating a person in the admin goes through the service: ledger entry, sockets re-checked."""

import pytest

from opsplatform.accounts.models import User
from tests.ledger import entries


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "a-long-root-password")


def form_for(user, **changes):
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return data


def test_deactivating_in_the_admin_is_recorded_like_the_service_does(client, root, users):
    person = users["operator"]
    client.force_login(root)

    response = client.post(f"/admin/accounts/user/{person.pk}/change/", form_for(person, is_active=""))

    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.is_active is False
    assert entries("user.deactivated", target=person).count() == 1


def test_an_admin_cannot_deactivate_themselves_there_either(client, root):
    client.force_login(root)

    client.post(f"/admin/accounts/user/{root.pk}/change/", form_for(root, is_active="", is_superuser="on"))

    root.refresh_from_db()
    assert root.is_active is True
    assert not entries("user.deactivated", target=root).exists()
