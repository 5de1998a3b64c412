"""E-mail sign-in links, end to end: the request page, the mail a real SMTP server receives, the link
opened in the same browser (and in another), single use, expiry, throttling, the second factor and
"SSO required"."""

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from opsplatform.accounts import signin_links
from opsplatform.accounts.models import SignInLink
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.ledger import entries

pytestmark = pytest.mark.django_db

REQUEST_URL = "/accounts/login/link/"
CSRF_TOKEN = re.compile(r"[A-Za-z0-9]{64}")
LINK = re.compile(r"http://testserver(/accounts/login/link/[^/\s]+/)")


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.test")


def ask(client, email, ip="10.0.0.1"):
    return client.post(REQUEST_URL, {"email": email}, REMOTE_ADDR=ip)


def mail_out() -> int:
    """What the Celery worker does after commit: send every link still waiting."""
    return sum(signin_links.send_signin_link(pk) for pk in SignInLink.objects.values_list("pk", flat=True))


def link_in(message) -> str:
    body = message_from_bytes(message.content).get_payload(decode=True).decode()
    return LINK.search(body).group(1)


def test_link_signs_in_once_in_the_requesting_browser(client, alice, smtp):
    response = ask(client, "Alice@Example.test")
    assert response.status_code == 200
    assert signin_links.COOKIE_NAME in response.cookies
    assert mail_out() == 1
    assert mail_out() == 0  # the secret left the row with the first mail

    [message] = smtp
    assert message.rcpt_tos == ["alice@example.test"]
    path = link_in(message)
    link = SignInLink.objects.get()
    assert link.sealed_token == "" and link.mailed_at is not None
    assert path.split("/")[-2] not in str(SignInLink.objects.values_list())  # only a digest is stored

    opened = client.get(path)
    assert opened.status_code == 200 and client.session.get("_auth_user_id") is None  # GET uses nothing

    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert client.get("/").status_code == 200
    link.refresh_from_db()
    assert link.used_at is not None
    assert entries("auth.signin_link_requested", target=alice).get().data["ip"] == "10.0.0.1"
    assert entries("auth.login", target=alice).get().data["method"] == "email_link"

    client.post("/accounts/logout/")
    again = client.post(path)
    assert again.status_code == 400 and b"already used" in again.content
    assert client.session.get("_auth_user_id") is None
    assert entries("auth.signin_link_refused", target=alice).get().data["reason"] == "used"


def test_unknown_address_gets_the_same_answer_and_no_mail(client, alice, smtp):
    known = ask(client, "alice@example.test")
    unknown = ask(Client(), "nobody@example.test")

    def masked(response):
        return CSRF_TOKEN.sub("CSRF", response.content.decode())

    assert known.status_code == unknown.status_code == 200
    assert masked(known) == masked(unknown)
    assert set(known.cookies) == set(unknown.cookies)
    assert mail_out() == 1
    assert [m.rcpt_tos for m in smtp] == [["alice@example.test"]]
    assert SignInLink.objects.count() == 1


def test_link_opened_in_another_browser_is_refused(client, alice, smtp):
    ask(client, "alice@example.test")
    mail_out()
    path = link_in(smtp[0])

    other = Client()
    refused = other.post(path)

    assert refused.status_code == 400 and b"browser where you asked" in refused.content
    assert other.session.get("_auth_user_id") is None
    assert entries("auth.signin_link_refused", target=alice).get().data["reason"] == "other_browser"
    # Refused elsewhere, it still works where it was asked for.
    assert client.post(path).status_code == 302


def test_expired_link_is_refused(client, alice, smtp):
    ask(client, "alice@example.test")
    mail_out()
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    refused = client.post(link_in(smtp[0]))

    assert refused.status_code == 400 and b"expired" in refused.content
    assert client.session.get("_auth_user_id") is None
    assert entries("auth.signin_link_refused", target=alice).get().data["reason"] == "expired"


def test_link_expires_in_minutes(client, alice):
    before = timezone.now()
    ask(client, "alice@example.test")
    link = SignInLink.objects.get()
    assert timedelta(minutes=1) <= link.expires_at - before <= timedelta(minutes=15)


def test_made_up_link_is_refused_without_a_500(client):
    assert client.post("/accounts/login/link/not-a-real-token/").status_code == 400


@override_settings(SIGNIN_LINKS_PER_ADDRESS_HOUR=3)
def test_throttled_per_address_known_or_not(client, alice):
    for _ in range(3):
        assert ask(client, "alice@example.test").status_code == 200
        assert ask(client, "ghost@example.test", ip="10.0.0.2").status_code == 200
    assert ask(client, "alice@example.test", ip="10.9.9.9").status_code == 429
    assert ask(client, "ghost@example.test", ip="10.9.9.8").status_code == 429
    assert SignInLink.objects.count() == 3


@override_settings(SIGNIN_LINKS_PER_IP_HOUR=4)
def test_throttled_per_ip(client, alice):
    for n in range(4):
        assert ask(client, f"someone{n}@example.test", ip="10.0.0.7").status_code == 200
    refused = ask(client, "alice@example.test", ip="10.0.0.7")
    assert refused.status_code == 429 and b"Too many" in refused.content
    assert not SignInLink.objects.exists()
    assert ask(client, "alice@example.test", ip="10.0.0.8").status_code == 200


def test_second_factor_still_applies(client, alice, smtp):
    TOTPDevice.objects.create(user=alice, name="Authenticator app", confirmed=True)
    ask(client, "alice@example.test")
    mail_out()

    response = client.post(link_in(smtp[0]))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")
    blocked = client.get("/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/accounts/2fa/verify/")


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.OPERATOR, False), (Role.ADMIN, False), (Role.OWNER, True)]
)
def test_sso_required_refuses_links_except_owners(client, org, smtp, role, allowed):
    org.sso_required = True
    org.save()
    person = MembershipFactory(organization=org, role=role, user__email="person@example.test").user
    ask(client, "person@example.test")
    mail_out()

    response = client.post(link_in(smtp[0]))

    if allowed:
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
    else:
        assert response.status_code == 400 and b"single sign-on" in response.content
        assert client.session.get("_auth_user_id") is None
        assert entries("auth.signin_link_refused", target=person).get().data["reason"] == "sso_required"
