"""Celery tasks of the Experience APIs."""

from celery import shared_task

from .idempotency.services import idempotency_purge_expired


@shared_task(name="experience_apis.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency_purge_expired()
