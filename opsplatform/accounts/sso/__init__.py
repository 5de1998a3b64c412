"""Single sign-on through OpenID Connect providers an organization configures.

* ``discovery``: the provider's metadata and signing keys (JWKS), fetched through the guarded HTTP
  client and cached; an unknown key id fetches the keys again (the provider rotated them).
* ``oidc``: the authorization code flow with PKCE, state and nonce (Authlib builds the requests),
  and the ID token verified against the JWKS (joserfc).
* ``provisioning``: who the verified claims are here: a linked identity, an account with the same
  verified address, or a new account (just-in-time); allowed domains and claim → role mapping.
* ``providers``: configuring providers (the client secret is encrypted at rest).
"""


class SsoError(Exception):
    """A sign-in through a provider that cannot go on; ``reason`` is for the ledger, ``message`` for
    the person."""

    def __init__(self, reason: str, message: str, *, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status
