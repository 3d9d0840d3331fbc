"""Consumer state of the Experience APIs: who may call the REST API, and at which tier."""

from django.db import models
from oauth2_provider.models import Application


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["application__name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.application.name

    @property
    def client_id(self) -> str:
        return self.application.client_id
