"""What a migration run of the legacy customers into Salesforce did, chunk by chunk, and what it could not send."""

from django.db import models
from django.db.models import Q

from kernel.models import Work


class MigrationRun(models.Model):
    """One pass over CUST_MASTER (or over the customers a former run had rejected), as durable work."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        STOPPED = "stopped"

    ACTIVE_STATES = (State.PENDING, State.RUNNING)

    work = models.OneToOneField(Work, on_delete=models.PROTECT, related_name="+", editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    dry_run = models.BooleanField(default=False, help_text="Map and validate only: nothing is sent to Salesforce.")
    since = models.DateTimeField(null=True, blank=True, help_text="Only customers changed at or after this time.")
    chunk_size = models.PositiveIntegerField(default=10000, help_text="Customers per Bulk API job.")
    # A run that retries a former run's rejections reads these customers only (in order), not the whole table.
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retries")
    only_customers = models.JSONField(default=list, blank=True)
    checkpoint = models.CharField(
        max_length=20, blank=True, help_text="The last legacy customer number of the last completed chunk."
    )
    # The Bulk job of the chunk in flight: on resume it is waited for and read, never sent again.
    job_id = models.CharField(max_length=18, blank=True)
    read = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="Rows Salesforce rejected.")
    unmigratable = models.PositiveIntegerField(default=0, help_text="Customers the mapping refused.")
    chunks = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One index entry for every active run, the same for all: a second active run cannot be inserted.
            models.UniqueConstraint(
                models.Value(True), condition=Q(state__in=["pending", "running"]), name="one_active_migration_run"
            )
        ]

    def __str__(self) -> str:
        return f"migration run {self.pk} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class MigrationRejection(models.Model):
    """A customer a run could not migrate: refused by the mapping, or rejected by Salesforce, with the reason."""

    class Source(models.TextChoices):
        MAPPING = "mapping"
        SALESFORCE = "salesforce"

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="rejections")
    customer_number = models.CharField(max_length=20)
    source = models.CharField(max_length=10, choices=Source.choices)
    error = models.TextField(help_text="Salesforce's sf__Error, or the mapping's reasons.")
    # The mapping's refusals (field, reason, value); empty for a Salesforce rejection.
    fields = models.JSONField(default=list, blank=True)
    # The Contact row sent (Salesforce), or the legacy values refused (mapping).
    row = models.JSONField(default=dict, blank=True)
    retried = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "customer_number", "id"]
        indexes = [models.Index(fields=["run", "retried"], name="migration_rejection_open")]

    def __str__(self) -> str:
        return f"{self.customer_number} rejected by {self.source} in run {self.run_id}"


class MigratedCustomer(models.Model):
    """A legacy customer a run upserted into Salesforce, and the Contact it is there: the customer merge reads it
    to know the two records are one customer. The latest run to send the customer has the last word."""

    customer_number = models.CharField(max_length=20, primary_key=True)
    contact_id = models.CharField(max_length=18, db_index=True)
    run = models.ForeignKey(MigrationRun, null=True, on_delete=models.SET_NULL, related_name="+")
    migrated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"legacy customer {self.customer_number} is Salesforce contact {self.contact_id}"
