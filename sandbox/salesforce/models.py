from django.db import models


class Contact(models.Model):
    sf_id = models.CharField(max_length=18, unique=True)
    first_name = models.CharField(max_length=40, blank=True)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    account_id = models.CharField(max_length=18, blank=True)
    account_name = models.CharField(max_length=255, blank=True)
    # The org's custom fields for the legacy migration: the customer number is an External ID (upsert key), not
    # unique, so that two contacts can claim one number as in an org where the field was never marked unique.
    legacy_customer_number = models.CharField(max_length=20, blank=True, db_index=True)
    legacy_account_status = models.CharField(max_length=255, blank=True)
    # Salesforce's CreatedDate and LastModifiedDate: set by the platform, never by the caller.
    created_date = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>"


class AccessToken(models.Model):
    token = models.CharField(max_length=200, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"token issued {self.issued_at:%Y-%m-%d %H:%M:%S}"


class QueryCursor(models.Model):
    """What a `nextRecordsUrl` locator points back to: the query and where its next batch starts."""

    locator = models.CharField(max_length=40, unique=True)
    soql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.locator


class BulkIngestJob(models.Model):
    """A Bulk API 2.0 ingest job: its settings, the CSV uploaded to it, and once processed, its rows' results."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"
    STATES = (OPEN, UPLOAD_COMPLETE, IN_PROGRESS, JOB_COMPLETE, FAILED, ABORTED)
    FINAL_STATES = (JOB_COMPLETE, FAILED, ABORTED)

    job_id = models.CharField(max_length=18, unique=True)
    api_version = models.CharField(max_length=10)
    object_name = models.CharField(max_length=80)
    operation = models.CharField(max_length=20)
    external_id_field = models.CharField(max_length=80, blank=True)
    line_ending = models.CharField(max_length=4)
    column_delimiter = models.CharField(max_length=10)
    state = models.CharField(max_length=20, choices=[(s, s) for s in STATES], default=OPEN)
    created_date = models.DateTimeField(auto_now_add=True)
    system_modstamp = models.DateTimeField(auto_now=True)
    # The timeline after the upload: queued until started_at, InProgress until finishes_at, then final_state.
    upload_completed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finishes_at = models.DateTimeField(null=True, blank=True)
    final_state = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    records_processed = models.PositiveIntegerField(default=0)
    records_failed = models.PositiveIntegerField(default=0)
    # Every PUT of job data, one after another (Salesforce takes one per job: a second makes the close fail).
    uploads = models.PositiveSmallIntegerField(default=0)
    upload_bytes = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField(default=bytes)
    successful_results = models.TextField(blank=True)
    failed_results = models.TextField(blank=True)
    unprocessed_records = models.TextField(blank=True)

    LARGE_FIELDS = ("data", "successful_results", "failed_results", "unprocessed_records")
    # What a list of jobs needs, without their data and results.
    SUMMARY_FIELDS = (
        "job_id",
        "api_version",
        "object_name",
        "operation",
        "external_id_field",
        "line_ending",
        "column_delimiter",
        "state",
        "created_date",
        "system_modstamp",
        "upload_completed_at",
        "started_at",
        "finishes_at",
        "final_state",
        "error_message",
        "records_processed",
        "records_failed",
    )

    class Meta:
        ordering = ["-created_date", "-id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.object_name} job {self.job_id} ({self.state})"
