"""What the Salesforce connector speaks: our own types, never Salesforce's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Contact:
    """A Salesforce contact; fields Salesforce leaves empty are None (LastName is required there)."""

    id: str
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    account_id: str | None
    account_name: str | None


class BulkJobState(StrEnum):
    """Where a Bulk API 2.0 ingest job is: open for data, queued, being processed, or over."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def finished(self) -> bool:
        """Salesforce does nothing more with the job: its results are final."""
        return self in (BulkJobState.JOB_COMPLETE, BulkJobState.FAILED, BulkJobState.ABORTED)


@dataclass(frozen=True)
class BulkJob:
    """A Bulk API 2.0 ingest job as Salesforce last described it; the counts are 0 until it processes records."""

    id: str
    state: BulkJobState
    records_processed: int  # the failed ones among them
    records_failed: int
    # Why a Failed job failed, in Salesforce's words (`InvalidBatch : Field name not found : X`).
    error_message: str | None

    @property
    def finished(self) -> bool:
        return self.state.finished
