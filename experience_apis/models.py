"""Consumer state of the Experience APIs: who may call the REST API, and at which tier."""

from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import Application

from .slack.models import SlackAnswer  # noqa: F401  (the Slack command's answers owed, in this app's tables)

# The scopes a client is given by name (`internal` follows the client's flag): the v1 API, and events pushed in.
CLIENT_SCOPES = {
    "incidents": "Report incidents and read its own reports (/api/v1/)",
    "events": "Send incident events (/api/events/), as ServiceNow's business rule does",
}


def validate_scopes(value: str) -> None:
    names = value.split()
    unknown = sorted(set(names) - set(CLIENT_SCOPES))
    if unknown or not names:
        raise ValidationError(f"Space-separated, from: {', '.join(CLIENT_SCOPES)}.")


class ApiClient(models.Model):
    """A REST client: the toolkit's OAuth Application plus what Incident Hub needs to know of it.

    Linked one-to-one rather than swapping the toolkit's Application model, which cannot be done
    safely once its migrations have run.
    """

    class Tier(models.TextChoices):
        BRONZE = "bronze", "Bronze"
        SILVER = "silver", "Silver"
        GOLD = "gold", "Gold"

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="api_client")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.BRONZE)
    active = models.BooleanField(default=True, help_text="A disabled client's tokens are revoked at once.")
    internal = models.BooleanField(
        default=False,
        help_text="May call the System and Process APIs (its tokens get the `internal` scope): for our own programs.",
    )
    scopes = models.CharField(
        max_length=100,
        default="incidents",
        validators=[validate_scopes],
        help_text="What its tokens may do, space-separated: incidents (the v1 API), events (pushing incident events).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application__name"]
        verbose_name = "API client"
        permissions = [
            # Staff reach the internal APIs (customers' personal data, Slack, incidents) only when granted this.
            ("use_internal_apis", "Can call the internal System and Process APIs"),
            ("mark_internal", "Can let an API client call the internal APIs"),
        ]

    def __str__(self) -> str:
        return self.application.name

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def scope_names(self) -> list[str]:
        return self.scopes.split()


class IdempotencyRecord(models.Model):
    """One idempotency key (REST `Idempotency-Key`, or the browser form's token) and the answer it got.

    `scope` says whose key it is (an API client, or one browser session), so that two clients may use
    the same key independently; the unique constraint on (scope, key) is what makes claiming a key
    atomic between concurrent requests.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETED = "completed", "Completed"

    scope = models.CharField(max_length=150, help_text="Whose key: `api:<client id>` or `web:<browser session>`.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the canonical JSON request body (REST keys only)."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON text, not a JSONField: PostgreSQL's jsonb would reorder the keys, and a replay must be equal to the byte.
    response_body = models.TextField(blank=True)
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "idempotency record"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
