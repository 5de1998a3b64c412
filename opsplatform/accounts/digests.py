"""The stored form of a secret shown once (API token, invitation link): only its digest is kept.

Services write it and selectors look it up; neither owns it, so it sits beside both.
"""

import hashlib

TOKEN_PREFIX = "opk_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
