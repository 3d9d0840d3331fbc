from django.core.management.base import BaseCommand, CommandParser

from experience_apis.clients.services import api_client_create
from experience_apis.models import ApiClient


class Command(BaseCommand):
    help = "Make a REST API client and print its client_id and client_secret (the secret is shown only now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--tier", choices=ApiClient.Tier.values, default=ApiClient.Tier.BRONZE)
        parser.add_argument(
            "--internal",
            action="store_true",
            help="Also may call the System and Process APIs (its tokens get the `internal` scope).",
        )

    def handle(self, *args: object, **options: object) -> None:
        client, secret = api_client_create(
            name=str(options["name"]), tier=str(options["tier"]), internal=bool(options["internal"])
        )
        self.stdout.write(f"client_id={client.client_id}")
        self.stdout.write(f"client_secret={secret}")
