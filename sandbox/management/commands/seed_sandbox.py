from django.core.management.base import BaseCommand

from sandbox.salesforce.models import Contact

# Overlaps the legacy customer database on some emails (with differing details) and not on others.
DEMO_CONTACTS = [
    (
        "0035g00000AdaLv1AB",
        "Ada",
        "Lovelace",
        "ada.lovelace@example.com",
        "+44 20 7946 0958",
        "0015g00000AnlEngAA",
        "Analytical Engines Ltd",
    ),
    (
        "0035g00000GrcHp2AB",
        "Grace",
        "Hopper",
        "grace.hopper@example.com",
        "+1 202 555 0147",
        "0015g00000CobolCAA",
        "COBOL & Co",
    ),
    (
        "0035g00000KthJn3AB",
        "Katherine",
        "Johnson",
        "katherine.johnson@example.com",
        "+1 757 555 0199",
        "0015g00000OrbitIAA",
        "Orbits Inc",
    ),
    ("0035g00000MrgHm4AB", "Margaret", "Hamilton", "margaret.hamilton@example.com", "+1 617 555 0123", "", ""),
    ("0035g00000OlgPt5AB", "Olga", "Petrova", "olga.petrova@example.com", "", "0015g00000TundrAAA", "Tundra Trading"),
]


class Command(BaseCommand):
    help = "Load the sandbox's demo Salesforce contacts (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        created = 0
        for sf_id, first, last, email, phone, account_id, account_name in DEMO_CONTACTS:
            _, was_created = Contact.objects.update_or_create(
                sf_id=sf_id,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "phone": phone,
                    "account_id": account_id,
                    "account_name": account_name,
                },
            )
            created += was_created
        self.stdout.write(f"sandbox Salesforce: {len(DEMO_CONTACTS)} demo contacts ({created} new)")
