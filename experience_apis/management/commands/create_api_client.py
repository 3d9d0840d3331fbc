from django.core.management.base import BaseCommand, CommandParser

from experience_apis.clients.scopes import INCIDENTS
from experience_apis.clients.services import api_client_create
from experience_apis.models import CLIENT_SCOPES, ApiClient


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
        parser.add_argument(
            "--scope",
            action="append",
            choices=list(CLIENT_SCOPES),
            dest="scopes",
            help="What its tokens may do; repeat for several (default: incidents). "
            "`events`: push incident events, as ServiceNow's business rule does.",
        )

    def handle(self, *args: object, **options: object) -> None:
        client, secret = api_client_create(
            name=str(options["name"]),
            tier=str(options["tier"]),
            internal=bool(options["internal"]),
            scopes=options["scopes"] or [INCIDENTS],
        )
        self.stdout.write(f"client_id={client.client_id}")
        self.stdout.write(f"client_secret={secret}")
