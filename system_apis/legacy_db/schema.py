"""The old customer database's schema as it is, and the demo customers of a fresh install.

Fixed-width, upper-case, space-padded columns and dates as YYYYMMDD text (times as YYYYMMDDHHMMSS): the
connector, not the callers, turns them into `LegacyCustomer`.
"""

from collections.abc import Sequence

from django.db import connections, transaction

# The old system's "no time": what a row gets in LAST_CHG_TS when nothing says when it last changed.
NO_TIMESTAMP = "00000000000000"
LAST_CHG_TS_COLUMN = f"LAST_CHG_TS CHAR(14) NOT NULL DEFAULT '{NO_TIMESTAMP}'"
CUST_MASTER_DDL = f"""
CREATE TABLE IF NOT EXISTS CUST_MASTER (
    CUST_NO    CHAR(10)    NOT NULL PRIMARY KEY,
    FIRST_NM   CHAR(30)    NOT NULL,
    LAST_NM    CHAR(30)    NOT NULL,
    EMAIL_ADDR CHAR(80)    NOT NULL,
    PHONE_NO   CHAR(20)    NOT NULL,
    ACCT_STAT  CHAR(1)     NOT NULL,
    OPEN_DT    CHAR(8)     NOT NULL,
    {LAST_CHG_TS_COLUMN}
)
"""
ADD_LAST_CHG_TS = f"ALTER TABLE CUST_MASTER ADD COLUMN {LAST_CHG_TS_COLUMN}"
# Rows from before the column: changed last, as far as anyone knows, when they were opened (at midnight).
BACKFILL_LAST_CHG_TS = (
    "UPDATE CUST_MASTER SET LAST_CHG_TS = CASE"  # noqa: S608
    " WHEN LENGTH(TRIM(OPEN_DT)) = 8 THEN TRIM(OPEN_DT) || '000000'"
    f" ELSE '{NO_TIMESTAMP}' END"
)
CUST_MASTER_EMAIL_INDEX = "CREATE INDEX IF NOT EXISTS CUST_MASTER_EMAIL ON CUST_MASTER (EMAIL_ADDR)"
# For the reads of what changed since a time, in key order.
CUST_MASTER_CHANGED_INDEX = "CREATE INDEX IF NOT EXISTS CUST_MASTER_CHANGED ON CUST_MASTER (LAST_CHG_TS, CUST_NO)"

CUST_MASTER_COLUMNS = (
    "CUST_NO",
    "FIRST_NM",
    "LAST_NM",
    "EMAIL_ADDR",
    "PHONE_NO",
    "ACCT_STAT",
    "OPEN_DT",
    "LAST_CHG_TS",
)
WIDTHS = (10, 30, 30, 80, 20, 1, 8, 14)
INSERT_CUSTOMER = (
    f"INSERT INTO CUST_MASTER ({', '.join(CUST_MASTER_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(CUST_MASTER_COLUMNS))})"
)

# (CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT, LAST_CHG_TS) as the old system wrote them.
# Some overlap the sandbox's Salesforce contacts (with other phones), some exist here only.
DEMO_CUSTOMERS = [
    ("0000100001", "ADA", "LOVELACE", "ada.lovelace@example.com", "020 7946 0001", "A", "20190312", "20240611142301"),
    ("0000100002", "GRACE", "HOPPER", "grace.hopper@example.com", "202-555-0100", "A", "20200105", "20250203091544"),
    ("0000100003", "ALAN", "TURING", "alan.turing@example.com", "0161 496 0000", "I", "20171120", "20211008020000"),
    ("0000100004", "OLGA", "PETROVA", "olga.petrova@example.com", "495 555 0134", "A", "20210630", "20210630000000"),
    ("0000100005", "CHARLES", "BABBAGE", "charles.babbage@example.com", "", "C", "20150101", "20180417163012"),
]


def ensure_schema(alias: str) -> None:
    """CUST_MASTER as this code reads it: created if missing, LAST_CHG_TS added to a table from before it."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(CUST_MASTER_DDL)
        cursor.execute("SELECT * FROM CUST_MASTER WHERE 1 = 0")
        # Upper-cased: PostgreSQL folds the unquoted names to lower case.
        if "LAST_CHG_TS" not in {column[0].upper() for column in cursor.description}:
            cursor.execute(ADD_LAST_CHG_TS)
            cursor.execute(BACKFILL_LAST_CHG_TS)
        cursor.execute(CUST_MASTER_EMAIL_INDEX)
        cursor.execute(CUST_MASTER_CHANGED_INDEX)


def insert_missing_customers(alias: str, rows: Sequence[Sequence[str]]) -> int:
    """Insert, in one statement run for all, the rows (values of CUST_MASTER_COLUMNS, in order) whose CUST_NO is
    not taken yet, upper-case and padded as the old system writes them; returns how many."""
    if not rows:
        return 0
    padded = [[value.upper().ljust(width) for value, width in zip(row, WIDTHS, strict=True)] for row in rows]
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # One look at the rows' key range, not one per row.
        numbers = [row[0] for row in padded]
        cursor.execute(
            "SELECT CUST_NO FROM CUST_MASTER WHERE CUST_NO >= %s AND CUST_NO <= %s", [min(numbers), max(numbers)]
        )
        taken = {number.strip() for (number,) in cursor.fetchall()}
        missing = [row for row in padded if row[0].strip() not in taken]
        if missing:
            cursor.executemany(INSERT_CUSTOMER, missing)
    return len(missing)


def seed_demo_customers(alias: str) -> int:
    """Create the table if needed and insert the demo customers that are missing; returns how many."""
    ensure_schema(alias)
    return insert_missing_customers(alias, DEMO_CUSTOMERS)
