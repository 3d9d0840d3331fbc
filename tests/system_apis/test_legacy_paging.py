from datetime import UTC, date, datetime

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from system_apis.errors import SystemUnavailable
from system_apis.legacy_db.client import LegacyCustomerDatabase
from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import ensure_schema, insert_missing_customers
from system_apis.legacy_db.types import AccountStatus, LegacyCustomer

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

# CUST_NO, FIRST_NM, LAST_NM, EMAIL_ADDR, PHONE_NO, ACCT_STAT, OPEN_DT, LAST_CHG_TS; out of key order on purpose.
CUSTOMERS = [
    ("0000000005", "EVE", "FIFTH", "eve@example.com", "", "C", "20150101", "20240611142301"),
    ("0000000001", "ANN", "FIRST", "ann@example.com", "020 7946 0001", "A", "20190312", "20190312000000"),
    ("0000000003", "CAL", "THIRD", "cal@example.com", "(202) 555-0100", "I", "20171120", "20240611142300"),
    ("0000000002", "BOB", "SECOND", "bob@example.com", "", "A", "20200105", "20250203091544"),
    ("0000000006", "", "SIXTH", "fay@example", "N/A", "X", "00000000", "00000000000000"),
    ("0000000004", "DAN", "FOURTH", "dan@example.com", "030/1234567", "A", "20210630", "20240611142301"),
    ("0000000007", "GIL", "", "gil@example.com", "", "A", "20220101", "20220101020000"),
]
ALL_NUMBERS = [f"000000000{n}" for n in range(1, 8)]


@pytest.fixture
def legacy_db() -> LegacyCustomerDatabase:
    ensure_schema(LEGACY_ALIAS)
    insert_missing_customers(LEGACY_ALIAS, CUSTOMERS)
    return LegacyCustomerDatabase()


def numbers(customers: list[LegacyCustomer]) -> list[str]:
    return [customer.customer_number for customer in customers]


def selects(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]


def test_a_page_gives_the_values_as_stored_less_padding_as_a_lookup_does_and_adds_the_last_change(legacy_db):
    first, *_ = legacy_db.read_page(limit=1)

    assert first == LegacyCustomer(
        customer_number="0000000001",
        first_name="ANN",
        last_name="FIRST",
        email="ann@example.com",
        phone="020 7946 0001",
        account_status_code="A",
        opened_on=date(2019, 3, 12),
        last_changed_at=datetime(2019, 3, 12, tzinfo=UTC),
    )


def test_a_record_without_names_dates_or_a_known_status_is_still_read(legacy_db):
    (sixth,) = legacy_db.read_page("0000000005", limit=1)

    assert (sixth.first_name, sixth.email, sixth.phone) == ("", "fay@example", "N/A")
    assert (sixth.account_status, sixth.opened_on, sixth.last_changed_at) == (AccountStatus.UNKNOWN, None, None)
    assert sixth.account_status_code == "X", "an unknown status is given as stored, for whoever must fix it"


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 8])
def test_pages_cover_the_table_in_key_order_once_whatever_their_size(legacy_db, limit):
    pages, after = [], None
    while True:
        page = legacy_db.read_page(after, limit=limit)
        pages.append(numbers(page))
        if len(page) < limit:
            break
        after = page[-1].customer_number

    assert [number for page in pages for number in page] == ALL_NUMBERS
    assert all(len(page) == limit for page in pages[:-1])
    # A table of a multiple of the page size ends on an empty page.
    assert len(pages[-1]) == 7 % limit


def test_after_is_exclusive_and_need_not_be_a_number_in_the_table(legacy_db):
    assert numbers(legacy_db.read_page("0000000003", limit=2)) == ["0000000004", "0000000005"]
    assert numbers(legacy_db.read_page("00000000035", limit=2)) == ["0000000004", "0000000005"]
    assert legacy_db.read_page("0000000007", limit=2) == []


def test_after_a_short_number_is_after_its_own_padded_row(legacy_db):
    insert_missing_customers(LEGACY_ALIAS, [("42", "OLD", "KEY", "old@example.com", "", "A", "19990101", "")])

    assert numbers(legacy_db.read_page("0000000007", limit=5)) == ["42"]
    assert legacy_db.read_page("42", limit=5) == []


def test_changed_since_keeps_the_customers_changed_at_or_after_it(legacy_db):
    since = datetime(2024, 6, 11, 14, 23, 1, tzinfo=UTC)

    assert numbers(legacy_db.read_page(changed_since=since, limit=10)) == ["0000000002", "0000000004", "0000000005"]
    assert numbers(legacy_db.read_page("0000000002", changed_since=since, limit=1)) == ["0000000004"]
    assert legacy_db.count_customers(changed_since=since) == 3


def test_changed_since_is_read_on_the_old_systems_clock(legacy_db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 12:23:01 UTC is 14:23:01 in Berlin in June, as the old system wrote it.
    since = datetime(2024, 6, 11, 12, 23, 1, tzinfo=UTC)

    customers = legacy_db.read_page(changed_since=since, limit=10)

    assert numbers(customers) == ["0000000002", "0000000004", "0000000005"]
    assert customers[1].last_changed_at == since


def test_a_time_without_a_zone_is_refused(legacy_db):
    with pytest.raises(ValueError, match="time zone"):
        legacy_db.read_page(changed_since=datetime(2024, 6, 11))


def test_a_page_needs_a_limit(legacy_db):
    with pytest.raises(ValueError, match="at least 1"):
        legacy_db.read_page(limit=0)


def test_count_covers_what_a_read_would(legacy_db):
    assert legacy_db.count_customers() == 7
    assert legacy_db.count_customers(after="0000000005") == 2
    since = datetime(2024, 1, 1, tzinfo=UTC)
    assert legacy_db.count_customers(after="0000000002", changed_since=since) == len(
        list(legacy_db.iter_customers(after="0000000002", changed_since=since))
    )


def test_the_generator_reads_one_page_at_a_time_by_key_never_by_offset(legacy_db):
    with CaptureQueriesContext(connections[LEGACY_ALIAS]) as queries:
        customers = legacy_db.iter_customers(page_size=3)
        assert selects(queries) == []

        firsts = [next(customers) for _ in range(3)]
        assert len(selects(queries)) == 1

        fourth = next(customers)
        assert len(selects(queries)) == 2

        rest = list(customers)

    assert numbers([*firsts, fourth, *rest]) == ALL_NUMBERS
    statements = selects(queries)
    assert len(statements) == 3
    assert all("ORDER BY CUST_NO LIMIT 3" in sql and "OFFSET" not in sql.upper() for sql in statements)
    assert "CUST_NO >" not in statements[0]
    assert "CUST_NO > '0000000003'" in statements[1] and "CUST_NO > '0000000006'" in statements[2]


def test_the_generator_pages_through_the_changed_customers_only(legacy_db):
    since = datetime(2024, 6, 11, 14, 23, tzinfo=UTC)

    with CaptureQueriesContext(connections[LEGACY_ALIAS]) as queries:
        changed = list(legacy_db.iter_customers(changed_since=since, page_size=2))

    assert numbers(changed) == ["0000000002", "0000000003", "0000000004", "0000000005"]
    # Two full pages, then the empty one that says there is no more.
    assert len(selects(queries)) == 3
    assert all("LAST_CHG_TS >= '20240611142300'" in sql for sql in selects(queries))


def test_a_page_goes_through_the_pipeline_as_a_lookup_does(caplog):
    with pytest.raises(SystemUnavailable) as raised:
        LegacyCustomerDatabase().read_page(limit=10)

    assert (raised.value.system, raised.value.operation) == ("legacy_db", "read_page")
    calls = [r for r in caplog.records if r.name == "system_apis.calls"]
    assert [(r.system, r.operation) for r in calls] == [("legacy_db", "read_page")]


def drop_cust_master() -> None:
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS CUST_MASTER")


def create_cust_master_from_before_last_change() -> None:
    drop_cust_master()
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute(
            "CREATE TABLE CUST_MASTER (CUST_NO CHAR(10) NOT NULL PRIMARY KEY, FIRST_NM CHAR(30) NOT NULL,"
            " LAST_NM CHAR(30) NOT NULL, EMAIL_ADDR CHAR(80) NOT NULL, PHONE_NO CHAR(20) NOT NULL,"
            " ACCT_STAT CHAR(1) NOT NULL, OPEN_DT CHAR(8) NOT NULL)"
        )
        cursor.executemany(
            "INSERT INTO CUST_MASTER VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                ("0000000001", "ANN", "FIRST", "ANN@EXAMPLE.COM", "", "A", "20190312"),
                ("0000000002", "BOB", "SECOND", "BOB@EXAMPLE.COM", "", "A", "00000000"),
                ("0000000003", "CAL", "THIRD", "CAL@EXAMPLE.COM", "", "I", "        "),
            ],
        )


def last_changes() -> list[tuple[str, str]]:
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute("SELECT CUST_NO, LAST_CHG_TS FROM CUST_MASTER ORDER BY CUST_NO")
        return [(number.strip(), changed) for number, changed in cursor.fetchall()]


def cust_master_indexes() -> dict[str, list[str]]:
    connection = connections[LEGACY_ALIAS]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "cust_master")
    return {
        name.lower(): [column.lower() for column in constraint["columns"]]
        for name, constraint in constraints.items()
        if constraint["index"] and not constraint["primary_key"]
    }


def test_an_old_table_gets_the_last_change_column_its_rows_their_opening_at_midnight():
    create_cust_master_from_before_last_change()
    # A lookup needs no more than the old table had.
    assert LegacyCustomerDatabase().get_customer("0000000001").last_changed_at is None

    ensure_schema(LEGACY_ALIAS)
    ensure_schema(LEGACY_ALIAS)

    assert last_changes() == [
        ("0000000001", "20190312000000"),
        ("0000000002", "00000000000000"),
        ("0000000003", "00000000000000"),
    ]
    assert LegacyCustomerDatabase().read_page(limit=1)[0].last_changed_at == datetime(2019, 3, 12, tzinfo=UTC)
    assert cust_master_indexes()["cust_master_changed"] == ["last_chg_ts", "cust_no"]


def test_the_schema_step_leaves_a_table_that_has_the_column_as_it_is(legacy_db):
    before = last_changes()

    ensure_schema(LEGACY_ALIAS)

    assert last_changes() == before


def test_a_new_table_is_created_with_the_column_and_both_indexes():
    drop_cust_master()

    ensure_schema(LEGACY_ALIAS)

    assert cust_master_indexes() == {
        "cust_master_email": ["email_addr"],
        "cust_master_changed": ["last_chg_ts", "cust_no"],
    }
    assert last_changes() == []
