"""Settings that must agree with each other, or with the libraries that read them, checked at start-up."""

import phonenumbers
from django.conf import settings
from django.core.checks import CheckMessage, Error, register

SMTP_EXCHANGES = 9


@register()
def leases_outlast_the_calls_they_cover(**kwargs: object) -> list[CheckMessage]:
    """A claim that expires while its call is still running lets a second worker repeat that call."""
    problems = []
    slack_call = sum(settings.SLACK_TIMEOUT)
    if settings.NOTIFICATION_CLAIM_LEASE <= slack_call:
        problems.append(
            Error(
                f"NOTIFICATION_CLAIM_LEASE ({settings.NOTIFICATION_CLAIM_LEASE} s) must be longer than a Slack call "
                f"may take ({slack_call} s), or a live delivery can be taken over and posted twice.",
                id="process_apis.E001",
            )
        )
    # The look-up, then the create; the first attempt runs inside a report's downstream budget.
    servicenow_attempt = max(2 * sum(settings.SERVICENOW_TIMEOUT), settings.REPORT_DOWNSTREAM_BUDGET)
    lease = settings.SERVICENOW_SYNC_LEASE
    if lease <= servicenow_attempt:
        problems.append(
            Error(
                f"SERVICENOW_SYNC_LEASE ({lease} s) must be longer than one ServiceNow attempt may take "
                f"({servicenow_attempt} s), or two attempts can create two incidents.",
                id="process_apis.E002",
            )
        )
    # Each SMTP exchange (connect, EHLO, STARTTLS, login, MAIL, RCPT, DATA, the message, QUIT) may take EMAIL_TIMEOUT.
    smtp_send = SMTP_EXCHANGES * settings.EMAIL_TIMEOUT
    if settings.EMAIL_CLAIM_LEASE <= smtp_send:
        problems.append(
            Error(
                f"EMAIL_CLAIM_LEASE ({settings.EMAIL_CLAIM_LEASE} s) must be longer than sending a mail may take "
                f"({smtp_send} s: {SMTP_EXCHANGES} × EMAIL_TIMEOUT), or the customer can get the mail twice.",
                id="process_apis.E003",
            )
        )
    migration_attempt = settings.CELERY_TASK_ANNOTATIONS["process_apis.migrate_legacy_customers"]["time_limit"]
    if settings.MIGRATION_CLAIM_LEASE <= migration_attempt:
        problems.append(
            Error(
                f"MIGRATION_CLAIM_LEASE ({settings.MIGRATION_CLAIM_LEASE} s) must be longer than a migration chunk's "
                f"task may run ({migration_attempt} s), or a live chunk can be taken over and sent twice.",
                id="process_apis.E004",
            )
        )
    return problems


@register()
def legacy_phone_region_is_known(**kwargs: object) -> list[CheckMessage]:
    """The customer migration reads legacy phone numbers without a country code as numbers of this region."""
    region = settings.LEGACY_PHONE_REGION
    if region in phonenumbers.SUPPORTED_REGIONS:
        return []
    return [
        Error(
            f"LEGACY_PHONE_REGION ({region!r}) is not a region the phonenumbers library knows: give an ISO 3166 "
            "alpha-2 code in capitals, such as 'GB' or 'US'.",
            id="process_apis.E004",
        )
    ]
