"""What the migration tells the rest of the process layer: which legacy customers are which Salesforce Contacts."""

from collections.abc import Iterable

from .models import MigratedCustomer


def migrated_contacts(customer_numbers: Iterable[str]) -> dict[str, str]:
    """Legacy customer number -> the Salesforce Contact id a migration run made it, for those migrated."""
    numbers = [number for number in customer_numbers if number]
    if not numbers:
        return {}
    return dict(
        MigratedCustomer.objects.filter(customer_number__in=numbers).values_list("customer_number", "contact_id")
    )
