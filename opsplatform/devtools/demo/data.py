"""The documented demo values. Fixed on purpose: `make run` prints them and scripts rely on them.

They are for local evaluation only; none of the demo organizations requires 2FA.
"""

ORGANIZATIONS = [
    {
        "slug": "acme",
        "name": "Acme Cloud",
        "time_zone": "Europe/Berlin",
        "teams": [("Payments", "Europe/Berlin"), ("Platform", "Europe/Berlin")],
        "api_token": "opk_demo_acme_4c1d2b7f9e8a6b5c3d2e1f0a9b8c7d6e",
    },
    {
        "slug": "globex",
        "name": "Globex Systems",
        "time_zone": "America/New_York",
        "teams": [("Core", "America/New_York"), ("Data", "America/New_York")],
        "api_token": "opk_demo_globex_7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d",
    },
]

ROLES = ["owner", "admin", "manager", "operator", "viewer"]


def username(org_slug: str, role: str) -> str:
    return f"{org_slug}-{role}"


def password(org_slug: str, role: str) -> str:
    return f"demo-{org_slug}-{role}"


SUPERUSER = {"username": "root", "password": "demo-root-password"}
