"""E-mail sign-in links: ask with an address, get a link that signs you in once, in this browser.

* No enumeration: the page answers the same whether or not the address has an account; the mail goes
  out from a Celery task, so the request takes the same time either way.
* Single use, expiring after ``SIGNIN_LINK_TTL``; only digests of the secret are stored (the secret
  itself stays encrypted on the row until the mail task takes it, then it is gone).
* Bound to the browser that asked: the link's row holds the digest of a nonce the requesting
  browser got as a cookie; opened anywhere else (a forwarded mail, a mail scanner) it refuses.
* Throttled per address and per client IP (Redis counters): the per-address limit counts unknown
  addresses as well, so being throttled tells nothing either.
* The second factor still applies: the link only replaces the password.

Ledger entries go on the platform chain, like every sign-in.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from opsplatform.accounts.models import SignInLink, User
from opsplatform.accounts.policy import local_sign_in_allowed
from opsplatform.core import crypto, ledger, ratelimit
from opsplatform.core.actors import Actor, ActorKind

logger = logging.getLogger(__name__)

SEND_TASK = "opsplatform.accounts.send_signin_link"
COOKIE_NAME = "ops_signin_nonce"


class Throttled(Exception):
    pass


class LinkRefused(Exception):
    """The link cannot sign anyone in; ``reason`` says why (for the page and the ledger)."""

    MESSAGES = {
        "invalid": "This sign-in link is not valid. Ask for a new one.",
        "used": "This sign-in link was already used. Each link works once; ask for a new one.",
        "expired": "This sign-in link has expired. Ask for a new one.",
        "other_browser": "Open the link in the browser where you asked for it, or ask for a new one here.",
        "sso_required": "Your organization requires single sign-on. Sign in with your identity provider.",
        "inactive": "This sign-in link is not valid. Ask for a new one.",
    }

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return self.MESSAGES[self.reason]


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_browser_nonce() -> str:
    return secrets.token_urlsafe(32)


def _actor(user) -> Actor:
    return Actor(kind=ActorKind.USER, organization=None, user=user)


def _account_for(email: str) -> User | None:
    # An address shared by two accounts signs neither in: the link could not say which one.
    users = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def signin_link_request(*, email: str, ip: str, browser_nonce: str) -> None:
    """Mail a sign-in link to ``email`` if it belongs to one active account; the same outcome
    (None) either way. Raises :class:`Throttled` when the address or the IP asked too often."""
    email = email.strip().lower()
    per_address = ratelimit.hit(
        "signin-link-address", email, limit=settings.SIGNIN_LINKS_PER_ADDRESS_HOUR, period=3600
    )
    per_ip = ratelimit.hit("signin-link-ip", ip or "-", limit=settings.SIGNIN_LINKS_PER_IP_HOUR, period=3600)
    if not (per_address and per_ip):
        raise Throttled()
    user = _account_for(email)
    if user is None:
        return
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = SignInLink.objects.create(
            user=user,
            token_hash=digest(token),
            browser_hash=digest(browser_nonce),
            requested_ip=ip or None,
            expires_at=timezone.now() + settings.SIGNIN_LINK_TTL,
        )
        link.sealed_token = crypto.encrypt(token, context=f"signin-link:{link.pk}")
        link.save(update_fields=["sealed_token"])
        ledger.record(
            actor=_actor(user),
            verb="auth.signin_link_requested",
            target=user,
            data={"ip": ip or "", "link": link.pk},
            organization=None,
        )
        transaction.on_commit(lambda: _enqueue(link.pk))


def _enqueue(link_id: int) -> None:
    try:
        current_app.send_task(SEND_TASK, args=(link_id,))
    except Exception:  # the broker is down: the person asks again
        logger.warning("could not enqueue the sign-in link mail", exc_info=True)


def send_signin_link(link_id: int) -> bool:
    """Mail the link once (the Celery task). The secret leaves the row in the same transaction that
    claims it, so a second run finds nothing to send."""
    with transaction.atomic():
        link = SignInLink.objects.select_for_update().select_related("user").filter(pk=link_id).first()
        if link is None or not link.sealed_token or link.used_at or link.expires_at <= timezone.now():
            return False
        token = crypto.decrypt(link.sealed_token, context=f"signin-link:{link.pk}")
        link.sealed_token = ""
        link.mailed_at = timezone.now()
        link.save(update_fields=["sealed_token", "mailed_at"])
    url = settings.SITE_URL + reverse("accounts:signin_link_open", args=[token])
    minutes = int(settings.SIGNIN_LINK_TTL.total_seconds() // 60)
    send_mail(
        subject="Your sign-in link",
        message=(
            f"Sign in to OpsPlatform: {url}\n\n"
            f"The link works once, for {minutes} minutes, in the browser where you asked for it.\n"
            "If you did not ask for it, ignore this mail: nobody can use it from another browser.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[link.user.email],
    )
    return True


def signin_link_consume(*, token: str, browser_nonce: str, ip: str) -> User:
    """The user the link signs in, after marking it used; :class:`LinkRefused` otherwise.

    A refusal of a real link is written to the ledger and committed before it is raised.
    """
    refused = None
    with transaction.atomic():
        link = (
            SignInLink.objects.select_for_update()
            .select_related("user")
            .filter(token_hash=digest(token))
            .first()
        )
        if link is None:
            raise LinkRefused("invalid")
        user = link.user
        if link.used_at is not None:
            refused = "used"
        elif link.expires_at <= timezone.now():
            refused = "expired"
        elif not browser_nonce or not secrets.compare_digest(digest(browser_nonce), link.browser_hash):
            refused = "other_browser"
        elif not user.is_active:
            refused = "inactive"
        elif not local_sign_in_allowed(user):
            refused = "sso_required"
        if refused is None:
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
            # Any other link still out for this person stops working too: one way in per request.
            SignInLink.objects.filter(user=user, used_at__isnull=True).exclude(pk=link.pk).update(
                used_at=link.used_at, sealed_token=""
            )
            return user
        ledger.record(
            actor=_actor(user),
            verb="auth.signin_link_refused",
            target=user,
            data={"reason": refused, "ip": ip or "", "link": link.pk},
            organization=None,
        )
    raise LinkRefused(refused)


def purge_expired(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop links long past their expiry (the retention tick)."""
    deleted, _ = SignInLink.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
