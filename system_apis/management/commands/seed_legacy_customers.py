import argparse
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.sample_customers import seed_sample_customers
from system_apis.legacy_db.schema import DEMO_CUSTOMERS, seed_demo_customers


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class Command(BaseCommand):
    help = (
        "Create the legacy CUST_MASTER table if needed (or add what an older one lacks) and load the demo customers;"
        " with --count, also N sample customers, realistic and partly dirty, the same ones for a given --seed."
        " Idempotent: customers already there are kept as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=positive_int, help="how many sample customers besides the demo ones")
        parser.add_argument("--seed", type=int, help="which sample customers (default 1); only with --count")
        parser.add_argument(
            "--batch", type=positive_int, help="rows per INSERT batch (default 5000); only with --count"
        )

    def handle(self, *args: object, count: int | None, seed: int | None, batch: int | None, **options: object) -> None:
        if count is None and (seed is not None or batch is not None):
            raise CommandError("--seed and --batch choose how sample customers are made: give --count too")
        inserted = seed_demo_customers(LEGACY_ALIAS)
        self.stdout.write(f"legacy customer database: {len(DEMO_CUSTOMERS)} demo customers ({inserted} new)")
        if count is None:
            return
        seed = 1 if seed is None else seed
        started = time.monotonic()

        def progress(done: int, inserted: int) -> None:
            elapsed = time.monotonic() - started
            self.stdout.write(f"  {done}/{count} sample customers ({inserted} new), {elapsed:.1f} s")

        inserted = seed_sample_customers(LEGACY_ALIAS, count=count, seed=seed, batch=batch or 5000, progress=progress)
        self.stdout.write(f"legacy customer database: {count} sample customers of seed {seed} ({inserted} new)")
