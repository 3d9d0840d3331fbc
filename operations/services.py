"""Keeping the call trace bounded."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import TracedCall


def traced_calls_purge(*, older_than_days: int | None = None) -> int:
    """Delete recorded calls older than the retention (CALL_TRACE_RETENTION_DAYS); returns how many."""
    days = settings.CALL_TRACE_RETENTION_DAYS if older_than_days is None else older_than_days
    deleted, _ = TracedCall.objects.filter(started_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
