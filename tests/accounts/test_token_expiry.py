"""A token never outlives the token that created it.

Decision (see ``api_token_create``): asking for no expiry under an expiring parent is capped to
the parent's expiry; asking explicitly for a later one is refused on ``expires_at``.
"""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from opsplatform.accounts import services
from opsplatform.accounts.models import ApiToken
from opsplatform.core.actors import Actor
from tests.ledger import entries

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def parent(org, users):
    """An operator's token that expires in a day, and its secret."""
    issued = services.api_token_create(
        actor=Actor.for_member(users["operator"], org),
        name="expiring parent",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return issued.token, issued.secret


def bearer(secret: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


def child(name: str) -> ApiToken:
    return ApiToken.objects.get(name=name)


# --- the service ---------------------------------------------------------------------------------


def test_no_expiry_under_an_expiring_parent_is_capped(parent):
    token, _ = parent

    issued = services.api_token_create(actor=Actor.for_token(token), name="child")

    assert issued.token.expires_at == token.expires_at
    child("child").refresh_from_db()
    assert child("child").expires_at == token.expires_at
    assert entries("api_token.created", target=issued.token).exists()


def test_an_earlier_expiry_is_kept(parent):
    token, _ = parent
    sooner = timezone.now() + timedelta(hours=1)

    issued = services.api_token_create(actor=Actor.for_token(token), name="child", expires_at=sooner)

    assert child("child").expires_at == sooner == issued.token.expires_at


def test_a_later_expiry_is_refused_and_nothing_stored(parent):
    token, _ = parent

    with pytest.raises(ValidationError) as refused:
        services.api_token_create(
            actor=Actor.for_token(token), name="child", expires_at=token.expires_at + timedelta(days=365)
        )

    assert "expires_at" in refused.value.message_dict
    assert not ApiToken.objects.filter(name="child").exists()
    assert not entries("api_token.created", actor_id=str(token.pk)).exists()


def test_a_session_without_a_parent_token_may_still_mint_a_token_that_never_expires(org, users):
    issued = services.api_token_create(actor=Actor.for_member(users["viewer"], org), name="forever")

    assert child("forever").expires_at is None is issued.token.expires_at


# --- POST /api/v1/tokens/ with the expiring parent as Bearer -------------------------------------


def test_api_no_expiry_is_capped_to_the_parent(parent):
    token, secret = parent

    response = bearer(secret).post("/api/v1/tokens/", {"name": "child"}, format="json")

    assert response.status_code == 201
    stored = child("child")
    assert stored.expires_at == token.expires_at
    assert stored.key_hash == hashlib.sha256(response.json()["secret"].encode()).hexdigest()
    assert entries("api_token.created", target=stored).exists()


def test_api_explicit_null_expiry_is_capped_to_the_parent(parent):
    token, secret = parent

    response = bearer(secret).post("/api/v1/tokens/", {"name": "child", "expires_at": None}, format="json")

    assert response.status_code == 201
    assert child("child").expires_at == token.expires_at


def test_api_later_expiry_is_a_field_error_and_nothing_stored(parent):
    token, secret = parent
    later = (token.expires_at + timedelta(days=30)).isoformat()

    response = bearer(secret).post("/api/v1/tokens/", {"name": "child", "expires_at": later}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert [e["field"] for e in json.loads(response.content)["errors"]] == ["expires_at"]
    assert not ApiToken.objects.filter(name="child").exists()
    assert not entries("api_token.created", actor_id=str(token.pk)).exists()
