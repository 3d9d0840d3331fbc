"""Business state of the Process APIs: every accepted report, what happened to it, and its notices.

Nothing here is deleted or overwritten silently: state changes are also kept as events.
"""

from django.db import models

from kernel.models import Work

from .customers.types import Customer


class Category(models.TextChoices):
    ORDER = "order", "Order or delivery"
    PAYMENT = "payment", "Payment"
    WEBSITE = "website", "Website problem"
    ACCOUNT = "account", "Account or login"
    OTHER = "other", "Something else"


class Urgency(models.IntegerChoices):
    HIGH = 1, "High: I cannot go on"
    MEDIUM = 2, "Medium: it gets in my way"
    LOW = 3, "Low: it can wait"


class Impact(models.IntegerChoices):
    HIGH = 1, "High"
    MEDIUM = 2, "Medium"
    LOW = 3, "Low"


class IncidentRequest(models.Model):
    class SyncState(models.TextChoices):
        PENDING = "pending", "ServiceNow incident pending"
        CREATED = "created", "Created in ServiceNow"
        FAILED = "failed", "ServiceNow create failed (retries exhausted)"

    reference = models.CharField(max_length=13, unique=True, editable=False)
    trace_id = models.CharField(max_length=64, blank=True, editable=False)
    # Who brought the report in: the Experience API (or other caller of the Process API) names itself, so a new
    # consumer needs no change here.
    consumer = models.CharField(max_length=40, editable=False)
    consumer_label = models.CharField(max_length=60, editable=False, help_text="The consumer as people read it.")
    contact_type = models.CharField(
        "ServiceNow contact type", max_length=40, editable=False, help_text="How the incident came to the service desk."
    )
    # The consumer's own key for this report (an Idempotency-Key, a form token): a retry finds it again.
    intake_key = models.CharField(max_length=320, null=True, blank=True, unique=True, editable=False)
    api_client_id = models.CharField(
        "API client id",
        max_length=100,
        blank=True,
        db_index=True,
        editable=False,
        help_text="Who called the consumer: its API client, staff user or chat user.",
    )
    filed_by = models.CharField(
        max_length=200, blank=True, help_text="Who filed it on the customer's behalf (empty: the customer did)."
    )

    email = models.EmailField(db_index=True)
    name = models.CharField(max_length=200, blank=True)
    order_number = models.CharField(max_length=40, blank=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices)
    impact = models.PositiveSmallIntegerField(choices=Impact.choices)
    short_description = models.CharField(max_length=160)
    description = models.TextField(max_length=4000, blank=True)

    customer = models.JSONField(default=dict, help_text="The merged customer as it was when the report arrived.")
    customer_degraded = models.BooleanField(default=False, help_text="A customer source was down.")

    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.PENDING)
    # The background work that creates the ServiceNow incident: its attempts, schedule, claim and last error.
    sync_work = models.OneToOneField(Work, on_delete=models.PROTECT, related_name="+", editable=False)
    # A round of attempts ended without the incident: the next round looks it up before creating (within a
    # round, every attempt after the first does).
    servicenow_create_sent = models.BooleanField(default=False)
    # Events from ServiceNow find the report by it.
    servicenow_sys_id = models.CharField(max_length=32, blank=True, db_index=True)
    servicenow_number = models.CharField(max_length=40, blank=True, db_index=True)
    servicenow_state = models.PositiveSmallIntegerField(null=True, blank=True)
    servicenow_state_label = models.CharField(max_length=40, blank=True)
    servicenow_priority = models.PositiveSmallIntegerField(null=True, blank=True)
    servicenow_url = models.URLField(max_length=500, blank=True)
    # What the last change applied from ServiceNow said (events in: pushed or polled); a change whose
    # sys_mod_count is not above this one's is one already applied, or older.
    servicenow_mod_count = models.PositiveIntegerField(null=True, blank=True)
    servicenow_updated_at = models.DateTimeField(
        "ServiceNow state as of", null=True, blank=True, help_text="sys_updated_on of the last change applied."
    )
    servicenow_assigned_to = models.CharField(max_length=200, blank=True)
    servicenow_close_code = models.CharField(max_length=80, blank=True)
    servicenow_close_notes = models.TextField(max_length=4000, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference

    def notifications_known(self, deliveries: list["NotificationDelivery"]) -> None:
        """Hold these as all the report's deliveries, as `prefetch_related` would, when the caller has just made
        them (none, for a report just stored): its summary then reads nothing back."""
        known = self.notifications.all()
        known._result_cache, known._prefetch_done = list(deliveries), True
        self._prefetched_objects_cache = {**getattr(self, "_prefetched_objects_cache", {}), "notifications": known}

    def notification_added(self, delivery: "NotificationDelivery") -> None:
        """Keep the held deliveries, if any, complete."""
        known = getattr(self, "_prefetched_objects_cache", {}).get("notifications")
        if known is not None:
            self.notifications_known([*known, delivery])

    @property
    def merged_customer(self) -> Customer:
        """The customer snapshot taken when the report arrived (a bare email for very old rows)."""
        return Customer.from_dict(self.customer) if self.customer else Customer(email=self.email)


class IncidentEvent(models.Model):
    """Something that happened to a report: accepted, created in ServiceNow, state changed, ..."""

    request = models.ForeignKey(IncidentRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class DeliveryState(models.TextChoices):
    """A delivery's state in its own words: its work running is it being sent, done is sent."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Waiting to retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


# Declared in the same order: pending, running (sending), retrying, done (sent), failed.
DELIVERY_STATE = dict(zip(Work.State, DeliveryState, strict=True))
WORK_STATE = {delivery: work for work, delivery in DELIVERY_STATE.items()}


class SentByWork(models.Model):
    """Something sent to someone by background work of its own (a Slack post, an e-mail, a client's webhook)."""

    State = DeliveryState

    # The background work that sends it: its attempts, schedule, claim and last error.
    work = models.OneToOneField(Work, on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta:
        abstract = True

    @property
    def state(self) -> str:
        return DELIVERY_STATE[self.work.state]

    def get_state_display(self) -> str:
        return DeliveryState(self.state).label


class NotificationDelivery(SentByWork):
    NEW_INCIDENT = "new_incident"
    # A reply in the thread of the new-incident notice: one per change it announces.
    STATE_CHANGE = "state_change"
    KINDS = [(NEW_INCIDENT, "New incident"), (STATE_CHANGE, "State change")]

    request = models.ForeignKey(IncidentRequest, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=KINDS, default=NEW_INCIDENT)
    # The change a state-change reply announces (its timeline entry).
    event = models.ForeignKey(
        IncidentEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications", editable=False
    )
    channel = models.CharField(max_length=100, help_text="Slack channel it goes to (name or id).")
    slack_channel_id = models.CharField(max_length=40, blank=True)
    slack_ts = models.CharField(max_length=40, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "notification delivery"
        verbose_name_plural = "notification deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=models.Q(kind="new_incident"), name="one_new_incident_notice"
            ),
            # The same change is never announced twice.
            models.UniqueConstraint(
                fields=["event", "kind"], condition=models.Q(event__isnull=False), name="one_notice_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.request_id}: {self.state}"


class CustomerMail(SentByWork):
    """An e-mail to the customer who reported: the confirmation, then word of the resolution; each at most once."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Report accepted"
        RESOLUTION = "resolution", "Incident resolved"

    request = models.ForeignKey(IncidentRequest, on_delete=models.CASCADE, related_name="mails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to = models.EmailField()
    # Made with the mail and sent with every attempt: a retry after an unknown outcome is the same mail.
    message_id = models.CharField(max_length=255, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "customer e-mail"
        constraints = [models.UniqueConstraint(fields=["request", "kind"], name="one_customer_mail_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} mail of {self.request_id}: {self.state}"


class ServiceNowEvent(models.Model):
    """An incident change ServiceNow pushed, kept as it arrived until its work has applied it."""

    # The background work that applies it: once, in order of sys_mod_count (process_apis.incident_events).
    work = models.OneToOneField(Work, on_delete=models.PROTECT, related_name="+", editable=False)
    payload = models.JSONField(help_text="The incident record as the business rule sent it.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "ServiceNow event"

    def __str__(self) -> str:
        return f"ServiceNow event {self.pk}"


class ServiceNowPoll(models.Model):
    """How far the poll of ServiceNow has read: changes up to `watermark` (its sys_updated_on) are applied."""

    name = models.CharField(max_length=40, unique=True)
    watermark = models.DateTimeField()

    class Meta:
        verbose_name = "ServiceNow poll"

    def __str__(self) -> str:
        return f"{self.name} up to {self.watermark:%Y-%m-%d %H:%M:%S}"


# Kept in their own modules (process_apis.customer_migration, process_apis.webhooks), registered with the app here.
from .customer_migration.models import MigratedCustomer, MigrationRejection, MigrationRun  # noqa: E402, F401
from .webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: E402, F401
