"""Who is calling the API: a bearer token, or a signed-in browser session.

Both authenticators set ``request.actor`` (on the DRF request and on the Django request below it),
which is what permissions, views and services work with. A request no authenticator accepted keeps
the middleware's ``actor`` (``None`` for anonymous callers).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from opsplatform.accounts.middleware import SESSION_ORGANIZATION_KEY
from opsplatform.accounts.models import ApiToken
from opsplatform.accounts.selectors import api_token_lookup, memberships_of
from opsplatform.accounts.services import api_token_touch
from opsplatform.core.actors import Actor

KEYWORD = "Bearer"
# Our secrets are ~50 characters; anything far longer is not a token and is not worth hashing.
MAX_SECRET_LENGTH = 256


def set_actor(request, actor: Actor | None) -> None:
    request.actor = actor
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.actor = actor


def request_actor(request) -> Actor | None:
    """``request.actor``, resolved here when an authenticator other than ours let the user in.

    Ours always set it; DRF's ``force_authenticate`` in tests, or an app's own authenticator that
    forgot to, get the same resolution instead of a silent refusal.
    """
    actor = getattr(request, "actor", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return actor
    if actor is not None and actor.user is not None and actor.user.pk == user.pk:
        return actor
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        actor = Actor.for_token(auth)
    else:
        actor = _session_actor(getattr(request, "_request", request), user)
    set_actor(request, actor)
    return actor


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <secret>``; the token acts for its owner inside its organization only.

    Unknown, revoked and expired tokens get the same answer (401), so the response never tells an
    attacker which of those a guessed secret was.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            self._fail(request, _("Malformed Authorization header: expected 'Bearer <token>'."))
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            self._fail(request, _("The token contains invalid characters."))
        token = api_token_lookup(secret) if len(secret) <= MAX_SECRET_LENGTH else None
        if token is None:
            self._fail(request, _("The token is invalid, expired or revoked."))
        api_token_touch(token)
        set_actor(request, Actor.for_token(token, member_role=token.member_role))
        return (token.user, token)

    def authenticate_header(self, request):
        value = f'{KEYWORD} realm="{self.www_authenticate_realm}"'
        if getattr(request, "_bearer_invalid", False):
            value += ', error="invalid_token"'
        return value

    @staticmethod
    def _fail(request, message):
        # RFC 6750 asks for error="invalid_token" on the challenge when a token was presented.
        request._bearer_invalid = True
        raise exceptions.AuthenticationFailed(message)


class VerifiedSessionAuthentication(SessionAuthentication):
    """The browser session of a signed-in member, with CSRF enforced on unsafe methods.

    The actor is the one ``CurrentOrganizationMiddleware`` resolved for the page header's current
    organization. Sessions that still owe a second factor never get here: ``TwoFactorGateMiddleware``
    refuses every API path for them.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        actor = getattr(request._request, "actor", None)
        if actor is None or actor.user is None or actor.user.pk != user.pk:
            actor = _session_actor(request._request, user)
        set_actor(request, actor)
        return result


def _session_actor(django_request, user) -> Actor:
    """The middleware's resolution, for requests that did not pass through it (test factories)."""
    memberships = list(memberships_of(user))
    session = getattr(django_request, "session", None)
    wanted = session.get(SESSION_ORGANIZATION_KEY) if session is not None else None
    current = next((m for m in memberships if m.organization_id == wanted), None)
    current = current or (memberships[0] if memberships else None)
    if current is None:
        return Actor.for_member(user, None)
    return Actor.for_member(user, current.organization, role=current.role)


# --- OpenAPI -----------------------------------------------------------------------------------
# drf-spectacular finds these by subclassing; defining them next to the classes they describe makes
# sure they are registered whenever the authenticators are loaded.


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "opsplatform.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token created under /api/v1/tokens/ (or in the settings pages): "
            "`Authorization: Bearer opk_…`.",
        }


class VerifiedSessionScheme(SessionScheme):
    target_class = "opsplatform.api.authentication.VerifiedSessionAuthentication"
