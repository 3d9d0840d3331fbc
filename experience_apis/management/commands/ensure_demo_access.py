import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from oauth2_provider.models import get_application_model

from experience_apis.clients.scopes import EVENTS
from experience_apis.clients.services import api_client_create
from experience_apis.models import ApiClient

DEMO_ADMIN = "admin"
DEMO_CLIENT = "demo-client"
# The client the sandbox's ServiceNow pushes incident changes with, as a real instance's OAuth profile would; the
# sandbox reads its credentials from this file under var/ (incidents_site/settings_sandbox.py).
SANDBOX_EVENTS_CLIENT = "sandbox-servicenow"
SANDBOX_EVENTS_CLIENT_FILE = "sandbox-servicenow-events-client"


class Command(BaseCommand):
    help = (
        "Make the demo staff user and API clients once (random secrets kept in var/) and print every URL of `make run`."
    )

    def handle(self, *args: object, **options: object) -> None:
        var_dir = Path(settings.VAR_DIR)
        password = self.ensure_staff_user(var_dir / "demo-admin-password")
        client_id, secret = self.ensure_api_client(var_dir / "demo-api-client")
        self.ensure_sandbox_events_client(var_dir / SANDBOX_EVENTS_CLIENT_FILE)
        web = f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}"
        lines = [
            "",
            "Incident Hub is starting:",
            f"  Web app           {web}/",
            f"  Admin             {web}/admin/   (user {DEMO_ADMIN}, password {password})",
            f"  API docs          {web}/api/docs/   (OpenAPI schema at {web}/api/schema/)",
            f"  Internal API docs {web}/api/internal/docs/   (schema at {web}/api/internal/schema/, staff only)",
            f"  REST API v1       {web}/api/v1/incidents   (token: POST {web}/o/token/, client credentials)",
            f"  Demo API client   client_id={client_id}",
            f"                    client_secret={secret}",
            "                    (gold tier, internal: it may also call the System and Process APIs)",
            f'  Get a token       curl -s -u "{client_id}:{secret}" -d grant_type=client_credentials {web}/o/token/',
            '                    then send "Authorization: Bearer <access_token>"',
            f"  System APIs       {web}/api/system/...   (staff: the admin session, or the demo client's token)",
            f"  Process APIs      {web}/api/process/...",
            f"  API catalog       {web}/catalog/   (staff: every API, what it calls, its last 24 h)",
            f"  Health            {web}/health/live   {web}/health/ready",
            f"  ServiceNow events {web}/api/events/servicenow/v1/incidents",
            f"                    (the sandbox's ServiceNow pushes each change as client {SANDBOX_EVENTS_CLIENT};"
            f" a poll every {settings.SERVICENOW_POLL_SECONDS:g} s catches up on any it missed)",
            f"  Sandbox           {settings.SANDBOX_URL}/   (what ServiceNow, Salesforce and Slack received)",
            f"  ServiceNow        {settings.SERVICENOW_BASE_URL}",
            f"  Salesforce        {settings.SALESFORCE_BASE_URL}",
            f"  Slack API         {settings.SLACK_API_URL}",
            _mail_line(),
            f"  Celery broker     {settings.CELERY_BROKER_URL.split('@')[-1]}",
            "Stop everything with Ctrl-C.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def ensure_staff_user(self, password_file: Path) -> str:
        users = get_user_model().objects
        if users.filter(username=DEMO_ADMIN).exists():
            return password_file.read_text().strip() if password_file.exists() else "(unchanged)"
        password = secrets.token_urlsafe(12)
        users.create_superuser(DEMO_ADMIN, email="admin@example.com", password=password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return password

    def ensure_api_client(self, secret_file: Path) -> tuple[str, str]:
        client = ApiClient.objects.filter(application__name=DEMO_CLIENT).select_related("application").first()
        if client and secret_file.exists():
            if not client.internal:  # made before internal clients existed
                client.internal = True
                client.save(update_fields=["internal"])
            return client.client_id, secret_file.read_text().strip()
        if client:  # the secret was lost with var/: a new client is the only way to show one
            client.application.delete()
        client, secret = api_client_create(name=DEMO_CLIENT, tier=ApiClient.Tier.GOLD, internal=True)
        secret_file.write_text(secret + "\n")
        secret_file.chmod(0o600)
        return client.client_id, secret

    def ensure_sandbox_events_client(self, credentials_file: Path) -> None:
        """An events client for the sandbox's ServiceNow, its `client_id` and secret on two lines of the file."""
        if credentials_file.exists():
            client_id = credentials_file.read_text().split()[0]
            if ApiClient.objects.filter(application__client_id=client_id, application__name=SANDBOX_EVENTS_CLIENT):
                return
        get_application_model().objects.filter(name=SANDBOX_EVENTS_CLIENT).delete()  # its secret was lost with var/
        client, secret = api_client_create(name=SANDBOX_EVENTS_CLIENT, scopes=[EVENTS])
        credentials_file.write_text(f"{client.client_id}\n{secret}\n")
        credentials_file.chmod(0o600)


def _mail_line() -> str:
    if settings.EMAIL_URL == settings.SANDBOX_EMAIL_URL:
        return (
            f"  Customer mailbox  {settings.SANDBOX_URL}/#mailbox   (the customer's e-mail, sent to the sandbox's SMTP"
            f" server on port {settings.SANDBOX_SMTP_PORT})"
        )
    where = urlsplit(settings.EMAIL_URL)
    return f"  Customer e-mail   {where.scheme}://{where.hostname or ''}{f':{where.port}' if where.port else ''}"
