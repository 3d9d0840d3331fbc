"""The old customer database's schema as it is, and the demo customers of a fresh install.

Fixed-width, upper-case, space-padded columns and dates as YYYYMMDD text: the connector, not the
callers, turns them into `LegacyCustomer`.
"""

from django.db import connections, transaction

CUST_MASTER_DDL = """
CREATE TABLE IF NOT EXISTS CUST_MASTER (
    CUST_NO    CHAR(10)    NOT NULL PRIMARY KEY,
    FIRST_NM   CHAR(30)    NOT NULL,
    LAST_NM    CHAR(30)    NOT NULL,
    EMAIL_ADDR CHAR(80)    NOT NULL,
    PHONE_NO   CHAR(20)    NOT NULL,
    ACCT_STAT  CHAR(1)     NOT NULL,
    OPEN_DT    CHAR(8)     NOT NULL
)
"""
CUST_MASTER_EMAIL_INDEX = "CREATE INDEX IF NOT EXISTS CUST_MASTER_EMAIL ON CUST_MASTER (EMAIL_ADDR)"

# (CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT) as the old system wrote them.
# Some overlap the sandbox's Salesforce contacts (with other phones), some exist here only.
DEMO_CUSTOMERS = [
    ("0000100001", "ADA", "LOVELACE", "ada.lovelace@example.com", "020 7946 0001", "A", "20190312"),
    ("0000100002", "GRACE", "HOPPER", "grace.hopper@example.com", "202-555-0100", "A", "20200105"),
    ("0000100003", "ALAN", "TURING", "alan.turing@example.com", "0161 496 0000", "I", "20171120"),
    ("0000100004", "OLGA", "PETROVA", "olga.petrova@example.com", "495 555 0134", "A", "20210630"),
    ("0000100005", "CHARLES", "BABBAGE", "charles.babbage@example.com", "", "C", "20150101"),
]
_WIDTHS = (10, 30, 30, 80, 20, 1, 8)


def ensure_schema(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(CUST_MASTER_DDL)
        cursor.execute(CUST_MASTER_EMAIL_INDEX)


def seed_demo_customers(alias: str) -> int:
    """Create the table if needed and insert the demo customers that are missing; returns how many."""
    ensure_schema(alias)
    inserted = 0
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        for row in DEMO_CUSTOMERS:
            cursor.execute("SELECT 1 FROM CUST_MASTER WHERE CUST_NO = %s", [row[0]])
            if cursor.fetchone():
                continue
            padded = [value.upper().ljust(width) for value, width in zip(row, _WIDTHS, strict=True)]
            cursor.execute("INSERT INTO CUST_MASTER VALUES (%s, %s, %s, %s, %s, %s, %s)", padded)
            inserted += 1
    return inserted
