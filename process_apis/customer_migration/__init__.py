"""Customer migration Process API: the legacy customers (CUST_MASTER) moved into Salesforce as Contacts."""
