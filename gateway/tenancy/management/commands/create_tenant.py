"""``python manage.py create_tenant NAME``: one JSON line with the tenant's id, its API key
and its signing secret, the only time the key is shown."""

import json

from django.core.management.base import BaseCommand, CommandParser

from gateway.tenancy.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant and print {tenant_id, api_key, signing_secret} as one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: object, name: str, **options: object) -> None:
        created = tenant_create(name=name)
        self.stdout.write(
            json.dumps(
                {
                    "tenant_id": created.tenant.id,
                    "api_key": created.api_key,
                    "signing_secret": created.signing_secret,
                }
            )
        )
