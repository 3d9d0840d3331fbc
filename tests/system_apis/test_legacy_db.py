from datetime import date

import pytest
from django.core.management import call_command
from django.db import connections

from system_apis.errors import SystemNotFound, SystemUnavailable
from system_apis.legacy_db.client import LegacyCustomerDatabase, parse_legacy_date
from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.schema import seed_demo_customers
from system_apis.legacy_db.types import AccountStatus, LegacyCustomer

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


@pytest.fixture
def legacy_db() -> LegacyCustomerDatabase:
    seed_demo_customers(LEGACY_ALIAS)
    return LegacyCustomerDatabase()


def insert_raw(*row: str) -> None:
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute("INSERT INTO CUST_MASTER VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", [*row, "00000000000000"])


def test_find_by_email_gives_the_old_padded_upper_case_row_as_stored_less_its_padding(legacy_db):
    customers = legacy_db.find_by_email("Ada.Lovelace@Example.com ")

    assert customers == [
        LegacyCustomer(
            customer_number="0000100001",
            first_name="ADA",
            last_name="LOVELACE",
            email="ada.lovelace@example.com",
            phone="020 7946 0001",
            account_status_code="A",
            opened_on=date(2019, 3, 12),
        )
    ]


def test_find_by_email_returns_nothing_for_an_unknown_email(legacy_db):
    assert legacy_db.find_by_email("nobody@example.com") == []


def test_duplicates_of_the_old_system_come_back_active_first(legacy_db):
    insert_raw("0000000007", "ADA ", "LOVELACE ", "ADA.LOVELACE@EXAMPLE.COM  ", "", "C", "00000000")

    customers = legacy_db.find_by_email("ada.lovelace@example.com")

    assert [(c.customer_number, c.account_status) for c in customers] == [
        ("0000100001", AccountStatus.ACTIVE),
        ("0000000007", AccountStatus.CLOSED),
    ]
    assert customers[1].opened_on is None and customers[1].phone is None


def test_get_customer_by_number(legacy_db):
    customer = legacy_db.get_customer("0000100003")

    assert (customer.first_name, customer.account_status) == ("ALAN", AccountStatus.INACTIVE)


def test_get_unknown_customer_is_not_found(legacy_db):
    with pytest.raises(SystemNotFound) as raised:
        legacy_db.get_customer("9999999999")

    assert raised.value.system == "legacy_db"
    assert raised.value.operation == "get_customer"


def test_missing_table_is_an_unavailable_system_not_a_crash(caplog):
    with pytest.raises(SystemUnavailable) as raised:
        LegacyCustomerDatabase().find_by_email("ada.lovelace@example.com")

    assert raised.value.system == "legacy_db"
    assert raised.value.__cause__ is not None
    # The driver's words are logged for staff, not carried in the error an API answers with.
    driver_error = type(raised.value.__cause__).__name__  # OperationalError on SQLite, ProgrammingError on PostgreSQL
    assert raised.value.message == f"legacy customer database failed ({driver_error})"
    assert "cust_master" not in str(raised.value).lower() and "cust_master" in caplog.text.lower()


def test_seeding_twice_inserts_nothing_the_second_time():
    first = seed_demo_customers(LEGACY_ALIAS)
    second = seed_demo_customers(LEGACY_ALIAS)

    assert (first, second) == (5, 0)


def test_seed_command_reports_what_it_did(capsys):
    call_command("seed_legacy_customers")

    assert "5 demo customers (5 new)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"), [("20190312", date(2019, 3, 12)), ("00000000", None), ("", None), ("2019-03-12", None)]
)
def test_legacy_dates(text, expected):
    assert parse_legacy_date(text) == expected


def test_rest_face_finds_customers_by_email(admin_client, legacy_db):
    response = admin_client.get("/api/system/legacy-customers/v1/customers", {"email": "grace.hopper@example.com"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "customer_number": "0000100002",
            "first_name": "GRACE",
            "last_name": "HOPPER",
            "email": "grace.hopper@example.com",
            "phone": "202-555-0100",
            "account_status": "ACTIVE",
            "opened_on": "2020-01-05",
        }
    ]


def test_rest_face_refuses_a_bad_email_with_a_field_error(admin_client, legacy_db):
    response = admin_client.get("/api/system/legacy-customers/v1/customers", {"email": "not-an-email"})

    assert response.status_code == 400
    assert "email" in response.json()["extra"]["fields"]


def test_rest_face_answers_404_as_json_for_an_unknown_customer(admin_client, legacy_db):
    response = admin_client.get("/api/system/legacy-customers/v1/customers/42")

    assert response.status_code == 404
    assert response.json()["extra"]["system"] == "legacy_db"


def test_rest_face_is_for_staff_only(client, legacy_db):
    response = client.get("/api/system/legacy-customers/v1/customers", {"email": "ada.lovelace@example.com"})

    assert response.status_code in (401, 403)
    assert "message" in response.json()
