import json

from django.conf import settings
from django.core.management.base import BaseCommand

from opsplatform.devtools.demo import data
from opsplatform.devtools.demo.seed_accounts import describe, ensure_user, seed_organization
from opsplatform.devtools.demo.seed_automation import seed_automation
from opsplatform.devtools.demo.seed_incidents import seed_incidents
from opsplatform.devtools.demo.seed_integrations import seed_integrations
from opsplatform.devtools.demo.seed_knowledge import seed_knowledge
from opsplatform.devtools.demo.seed_monitoring import seed_monitoring
from opsplatform.devtools.demo.seed_notifications import seed_notifications
from opsplatform.devtools.demo.seed_postmortems import seed_postmortems
from opsplatform.devtools.demo.seed_retention import seed_retention
from opsplatform.devtools.demo.seed_sign_in import seed_sign_in
from opsplatform.devtools.demo.seed_status_pages import seed_status_pages
from opsplatform.devtools.demo.seed_workflows import seed_workflows


class Command(BaseCommand):
    help = "Create or refresh the documented demo organizations, people and data (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", help="print what a script needs to drive the platform"
        )

    def handle(self, *args, **options):
        ensure_user(data.SUPERUSER["username"], data.SUPERUSER["password"], superuser=True)
        organizations = []
        for spec in data.ORGANIZATIONS:
            seeded = seed_organization(spec)
            seed_incidents(seeded["organization"], seeded["people"])
            seed_notifications(seeded["organization"], seeded["people"])
            seed_workflows(seeded["organization"], seeded["people"])
            seed_knowledge(seeded["organization"], seeded["people"])
            seed_postmortems(seeded["organization"], seeded["people"])
            seed_automation(seeded["organization"], seeded["people"])
            seed_retention(seeded["organization"], seeded["people"])
            seed_sign_in(seeded["organization"], seeded["people"])
            integrations = seed_integrations(seeded["organization"])
            seed_monitoring(seeded["organization"])
            seed_status_pages(seeded["organization"], seeded["people"])
            organizations.append({**describe(spec, seeded["organization"]), "integrations": integrations})
        summary = {
            "base_url": settings.SITE_URL,
            "superuser": data.SUPERUSER,
            "organizations": organizations,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(f"Demo data ready at {summary['base_url']}")
        for org in organizations:
            logins = ", ".join(f"{u['username']} / {u['password']}" for u in org["users"])
            self.stdout.write(f"  {org['name']}: {logins}; API token {org['api_token']}")
            for integration in org["integrations"]:
                self.stdout.write(f"    {integration['kind']}: {integration['url']} key {integration['key']}")
