import re
from collections import Counter
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.core.validators import validate_email
from django.db import connections

from system_apis.legacy_db.router import LEGACY_ALIAS
from system_apis.legacy_db.sample_customers import sample_customer, sample_number
from system_apis.legacy_db.schema import DEMO_CUSTOMERS, WIDTHS

SAMPLE_SIZE = 4000


@pytest.fixture(scope="module")
def samples() -> list[tuple[str, ...]]:
    return [sample_customer(7, index) for index in range(SAMPLE_SIZE)]


def share(count: int) -> float:
    return count / SAMPLE_SIZE


def seed(*args: str) -> list[str]:
    out = StringIO()
    call_command("seed_legacy_customers", *args, stdout=out)
    return out.getvalue().splitlines()


def cust_master() -> list[tuple[str, ...]]:
    with connections[LEGACY_ALIAS].cursor() as cursor:
        cursor.execute("SELECT * FROM CUST_MASTER ORDER BY CUST_NO")
        return [tuple(value.strip() for value in row) for row in cursor.fetchall()]


def test_a_seed_gives_the_same_customers_whatever_the_count_and_another_seed_others():
    first = [sample_customer(7, index) for index in range(200)]

    assert [sample_customer(7, index) for index in range(200)] == first
    assert [sample_customer(8, index) for index in range(200)] != first
    assert [row[0] for row in first] == [f"{1_000_001 + index:010d}" for index in range(200)]


def test_every_value_fits_its_column(samples):
    assert all(len(value) <= width for row in samples for value, width in zip(row, WIDTHS, strict=True))


def test_about_three_percent_of_emails_are_broken_as_people_typed_them(samples):
    broken = [email for _, _, _, email, *_ in samples if not is_valid_email(email)]

    assert 0.02 <= share(len(broken)) <= 0.04
    assert all("@" not in email or " " in email or ".." in email for email in broken)
    kinds = Counter("no @" if "@" not in e else "space" if " " in e else "double dot" for e in broken)
    assert set(kinds) == {"no @", "space", "double dot"}


def test_about_two_percent_share_an_email_with_an_earlier_customer(samples):
    seen: set[str] = set()
    again = 0
    for _, _, _, email, *_ in samples:
        again += email in seen
        seen.add(email)

    assert 0.012 <= share(again) <= 0.028


def test_about_two_percent_miss_a_first_or_a_last_name(samples):
    no_first = sum(1 for row in samples if not row[1])
    no_last = sum(1 for row in samples if not row[2])

    assert 0.012 <= share(no_first + no_last) <= 0.028
    assert no_first and no_last


def test_phones_come_in_many_local_formats_some_empty_some_junk(samples):
    phones = [row[4] for row in samples]
    empty = sum(1 for phone in phones if not phone)
    junk = sum(1 for phone in phones if phone and sum(c.isdigit() for c in phone) < 7)

    assert 0.04 <= share(empty) <= 0.08 and 0.01 <= share(junk) <= 0.03
    for pattern in (
        r"^0(20 7946|161 496|121 496) \d{4}$",  # UK, national
        r"^\+44 \(0\)",  # UK, international with the trunk 0
        r"^\(0\d+\) ",  # UK or DE, area code in parentheses
        r"^\d{3}-555-01\d\d$",  # US with dashes
        r"^\(\d{3}\) 555-01\d\d$",  # US with parentheses
        r"^\d{3}\.555\.01\d\d$",  # US with dots
        r"^\+1 ",  # US, international
        r"^0\d{2,3}/\d+$",  # DE with a slash
        r"^\+49 ",  # DE, international
        r"^0049 ",  # DE, international the old way
    ):
        assert any(re.search(pattern, phone) for phone in phones), pattern


def test_statuses_and_last_changes_vary(samples):
    statuses = Counter(row[5] for row in samples)
    changes = [row[7] for row in samples]

    assert set(statuses) == {"A", "I", "C"}
    assert statuses["A"] > statuses["I"] > statuses["C"]
    assert len(set(changes)) > SAMPLE_SIZE / 2
    assert all(re.fullmatch(r"\d{14}", changed) for changed in changes)
    # Never changed before it was opened; some not changed since, some by a nightly batch at 02:00.
    assert all(changed[:8] >= opened for *_, opened, changed in samples if opened != "00000000")
    assert any(changed == opened + "000000" for *_, opened, changed in samples)
    assert any(changed.endswith("020000") and changed[:8] > opened for *_, opened, changed in samples)


@pytest.mark.django_db(databases=["default", "legacy"])
def test_the_command_writes_the_seeds_customers_after_the_demo_ones_in_batches():
    output = seed("--count", "25", "--seed", "7", "--batch", "10")

    assert output[0] == "legacy customer database: 5 demo customers (5 new)"
    assert [re.sub(r", [\d.]+ s$", "", line) for line in output[1:4]] == [
        "  10/25 sample customers (10 new)",
        "  20/25 sample customers (20 new)",
        "  25/25 sample customers (25 new)",
    ]
    assert output[-1] == "legacy customer database: 25 sample customers of seed 7 (25 new)"
    rows = cust_master()
    assert rows[:5] == [tuple(v.upper() for v in demo) for demo in DEMO_CUSTOMERS]
    assert rows[5:] == [tuple(v.upper() for v in sample_customer(7, index)) for index in range(25)]


@pytest.mark.django_db(databases=["default", "legacy"])
def test_seeding_again_adds_nothing_and_a_larger_count_only_the_rest():
    seed("--count", "30", "--seed", "3")
    before = cust_master()

    again = seed("--count", "30", "--seed", "3")
    assert again[-1] == "legacy customer database: 30 sample customers of seed 3 (0 new)"
    assert cust_master() == before

    more = seed("--count", "45", "--seed", "3", "--batch", "20")
    assert more[-1] == "legacy customer database: 45 sample customers of seed 3 (15 new)"
    after = cust_master()
    assert after[: len(before)] == before
    assert [row[0] for row in after[len(before) :]] == [sample_number(index) for index in range(30, 45)]


@pytest.mark.django_db(databases=["default", "legacy"])
def test_without_a_count_it_seeds_the_demo_customers_only():
    assert seed() == ["legacy customer database: 5 demo customers (5 new)"]
    assert len(cust_master()) == 5


@pytest.mark.parametrize("args", [("--seed", "3"), ("--batch", "100")])
def test_seed_and_batch_need_a_count(args):
    with pytest.raises(CommandError, match="give --count too"):
        seed(*args)


@pytest.mark.parametrize("args", [("--count", "0"), ("--count", "10", "--batch", "-1")])
def test_count_and_batch_must_be_positive(args):
    with pytest.raises(CommandError, match="must be at least 1"):
        seed(*args)


def is_valid_email(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True
