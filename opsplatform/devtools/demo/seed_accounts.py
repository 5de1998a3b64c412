from django.db import transaction

from opsplatform.accounts import services
from opsplatform.accounts.models import ApiToken, Membership, Organization, Team, User
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from opsplatform.devtools.demo import data


def ensure_user(name: str, pw: str, *, staff: bool = False, superuser: bool = False) -> User:
    user, created = User.objects.get_or_create(
        username=name, defaults={"email": f"{name}@demo.opsplatform.test"}
    )
    # Set once, at creation: verifying Argon2 hashes on every run would make `make run` slow, and a
    # demo password someone changed on purpose stays changed.
    if created:
        user.set_password(pw)
    user.is_staff = staff or superuser
    user.is_superuser = superuser
    user.is_active = True
    user.display_name = user.display_name or name.replace("-", " ").title()
    user.save()
    return user


@transaction.atomic
def seed_organization(spec: dict) -> dict:
    slug = spec["slug"]
    people = {
        role: ensure_user(
            data.username(slug, role),
            data.password(slug, role),
            staff=role in (Role.OWNER, Role.ADMIN, Role.MANAGER),
        )
        for role in data.ROLES
    }
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = services.organization_create(name=spec["name"], slug=slug, owner=people["owner"])
        org.time_zone = spec["time_zone"]
        org.save(update_fields=["time_zone"])
    for role, user in people.items():
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": role})
    system = Actor.system("seed_demo", organization=org)
    for index, (team_name, tz) in enumerate(spec["teams"]):
        team = Team.objects.filter(organization=org, name=team_name).first()
        if team is None:
            team = services.team_create(actor=system, name=team_name, time_zone=tz)
        # The first team holds the on-call people; the second the platform folks.
        wanted = ["operator", "manager", "admin"] if index == 0 else ["operator", "owner"]
        if not team.members.exists():
            services.team_set_members(actor=system, team=team, users=[people[r] for r in wanted])
    if not ApiToken.objects.filter(key_hash=services.digest(spec["api_token"])).exists():
        services.api_token_create(
            actor=Actor.for_member(people["owner"], org), name="Demo token", secret=spec["api_token"]
        )
    return {"organization": org, "people": people}


def describe(spec: dict, org: Organization) -> dict:
    return {
        "slug": org.slug,
        "name": org.name,
        "api_token": spec["api_token"],
        "users": [
            {
                "username": data.username(spec["slug"], role),
                "password": data.password(spec["slug"], role),
                "role": role,
            }
            for role in data.ROLES
        ],
        "teams": list(Team.objects.filter(organization=org).values_list("name", flat=True)),
    }
