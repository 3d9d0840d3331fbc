"""Start a migration run of the legacy customers into Salesforce and run it here, showing its progress."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kernel.errors import ApplicationError
from process_apis.customer_migration.models import MigrationRun
from process_apis.customer_migration.services import migration_remaining, migration_run_drive, migration_run_start


def moment(value: str) -> datetime:
    """An ISO 8601 time; one without a time zone is on the site's clock."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since {value!r} is not an ISO 8601 date and time (2024-06-11T14:23:00)") from exc
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(BaseCommand):
    help = (
        "Migrate the legacy customers (CUST_MASTER) into Salesforce Contacts, chunk by chunk, in this process; "
        "prints records read, sent, created, updated, failed, the rate and the time left."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Map and validate every record, send nothing.")
        parser.add_argument("--since", type=str, help="Only customers changed at or after this ISO 8601 time.")
        parser.add_argument("--chunk", type=int, default=10000, help="Customers per Bulk API job (default 10000).")

    def handle(self, *args: Any, **options: Any) -> None:
        since = moment(options["since"]) if options["since"] else None
        try:
            run = migration_run_start(dry_run=options["dry_run"], since=since, chunk_size=options["chunk"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        total = migration_remaining(run)
        what = "dry run" if run.dry_run else "run"
        self.stdout.write(f"Migration {what} {run.pk}: {total} legacy customers to read, {run.chunk_size} a chunk.")
        started = time.monotonic()
        on_terminal = self.stdout.isatty()

        def report(run: MigrationRun) -> None:
            line = progress_line(run, total, time.monotonic() - started)
            if on_terminal:
                self.stdout.write(f"\r\033[K{line}", ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)

        run = migration_run_drive(run, report=report)
        if on_terminal:
            self.stdout.write("")
        if run.state != MigrationRun.State.DONE:
            raise CommandError(f"Migration {what} {run.pk} {run.state}: {run.error or 'stopped'}")
        self.stdout.write(
            f"Migration {what} {run.pk} done: {run.read} read, {run.sent} sent, {run.created} created,"
            f" {run.updated} updated, {run.failed} rejected by Salesforce, {run.unmigratable} refused by the mapping."
        )


def progress_line(run: MigrationRun, total: int, elapsed: float) -> str:
    rate = run.read / elapsed if elapsed > 0 else 0.0
    left = max(total - run.read, 0)
    eta = str(timedelta(seconds=round(left / rate))) if rate > 0 else "unknown"
    share = f" ({run.read / total:.0%})" if total else ""
    return (
        f"read {run.read}/{total}{share}  sent {run.sent}  created {run.created}  updated {run.updated}"
        f"  failed {run.failed}  unmigratable {run.unmigratable}  {rate:.0f}/s  ETA {eta}"
    )
