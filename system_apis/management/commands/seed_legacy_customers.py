from django.core.management.base import BaseCommand

from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import DEMO_CUSTOMERS, seed_demo_customers


class Command(BaseCommand):
    help = "Create the legacy CUST_MASTER table if needed and load the demo customers (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        inserted = seed_demo_customers(LEGACY_ALIAS)
        self.stdout.write(f"legacy customer database: {len(DEMO_CUSTOMERS)} demo customers ({inserted} new)")
