"""The migration's mapping of a legacy customer to a Salesforce Contact row: each rule by example, then properties."""

import re
import string

import phonenumbers
import pytest
from django.core.validators import validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernel.errors import ApplicationError
from process_apis.customer_migration.mapping import (
    ACCOUNT_STATUSES,
    CONTACT_COLUMNS,
    ContactName,
    LegacyCustomerValues,
    Refusal,
    UnmigratableCustomer,
    account_status,
    contact_email,
    contact_name,
    contact_phone,
    contact_row,
    external_id,
)

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
CSV_HEADER = "Legacy_Customer_Number__c,FirstName,LastName,Email,Phone,Legacy_Account_Status__c"
STATUS_LETTERS = {status: letter for letter, status in ACCOUNT_STATUSES.items()}


def legacy(**values: str) -> LegacyCustomerValues:
    """A CUST_MASTER record as the old system pads it, with `values` in place of Ada's."""
    record = {
        "customer_number": "0000100001",
        "first_name": "ADA".ljust(30),
        "last_name": "LOVELACE".ljust(30),
        "email": "ADA.LOVELACE@EXAMPLE.COM".ljust(80),
        "phone": "020 7946 0001".ljust(20),
        "account_status": "A",
    }
    return LegacyCustomerValues(**{**record, **values})


def refusals(error: pytest.ExceptionInfo[UnmigratableCustomer]) -> list[tuple[str, str]]:
    return [(refusal.field, refusal.value) for refusal in error.value.refusals]


def mapped_again(row: dict[str, str], region: str = "GB") -> dict[str, str]:
    """`row` mapped as if the legacy record held its values (the status as its letter)."""
    again = LegacyCustomerValues(
        customer_number=row["Legacy_Customer_Number__c"],
        first_name=row["FirstName"],
        last_name=row["LastName"],
        email=row["Email"],
        phone=row["Phone"],
        account_status=STATUS_LETTERS[row["Legacy_Account_Status__c"]],
    )
    return contact_row(again, phone_region=region)


# --- The row ------------------------------------------------------------------------------------------------------


def test_a_padded_upper_case_record_becomes_the_contact_row_in_the_order_of_the_csv_header():
    row = contact_row(legacy(), phone_region="GB")

    assert ",".join(row) == ",".join(CONTACT_COLUMNS) == CSV_HEADER
    assert row == {
        "Legacy_Customer_Number__c": "0000100001",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada.lovelace@example.com",
        "Phone": "+442079460001",
        "Legacy_Account_Status__c": "Active",
    }


def test_the_phone_region_is_the_legacy_phone_region_setting_unless_given(settings):
    settings.LEGACY_PHONE_REGION = "US"

    assert contact_row(legacy(phone="(202) 555-0100"))["Phone"] == "+12025550100"
    assert contact_row(legacy(phone="(202) 555-0100"), phone_region="GB")["Phone"] == "(202) 555-0100"


def test_a_record_is_refused_with_every_field_that_keeps_it_out_of_salesforce_at_once():
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_row(legacy(customer_number="0000100007  ", last_name=" " * 30, email="ADA@", account_status="X"))

    assert refused.value.refusals == (
        Refusal("LastName", "is empty, and Salesforce requires a last name", " " * 30),
        Refusal("Email", "is not a valid email address", "ADA@"),
        Refusal("Legacy_Account_Status__c", "is not a legacy account status (A active, I inactive or C closed)", "X"),
    )
    assert refused.value.customer_number == "0000100007"
    assert refused.value.message.startswith("Legacy customer '0000100007' cannot be migrated: LastName is empty")
    assert refused.value.extra["refusals"][1] == {
        "field": "Email",
        "reason": "is not a valid email address",
        "value": "ADA@",
    }
    assert isinstance(refused.value, ApplicationError)
    assert refused.value.http_status == 422


# --- The customer number: the external id ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0000100001", "0000100001"), ("0000100001  ", "0000100001"), ("  00042", "00042"), ("C-0042/a", "C-0042/a")],
)
def test_the_customer_number_is_kept_exactly_less_its_padding(given, expected):
    assert external_id(given) == expected


@pytest.mark.parametrize("given", ["", "          ", "00001 0001", "0000\x000001"])
def test_an_empty_customer_number_or_one_with_spaces_or_control_characters_inside_is_refused(given):
    with pytest.raises(UnmigratableCustomer) as refused:
        external_id(given)

    assert refusals(refused) == [("Legacy_Customer_Number__c", given)]


# --- Names ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("ADA                 ", "LOVELACE            ", ("Ada", "Lovelace")),
        ("grace", "hopper", ("Grace", "Hopper")),
        ("MARY  ANN", "SMITH", ("Mary Ann", "Smith")),
        ("SEAN", "O'BRIEN", ("Sean", "O'Brien")),
        ("LUCA", "D’ANGELO", ("Luca", "D’Angelo")),
        ("RONALD", "MCDONALD", ("Ronald", "McDonald")),
        ("ANGUS", "MACDONALD", ("Angus", "MacDonald")),
        ("FIONA", "MACKENZIE", ("Fiona", "MacKenzie")),
        ("ANA", "MACHADO", ("Ana", "Machado")),
        ("PAULO", "MACEDO", ("Paulo", "Macedo")),
        ("JOHN", "MACK", ("John", "Mack")),
        ("JEAN-LUC", "SMITH-JONES", ("Jean-Luc", "Smith-Jones")),
        ("NIAMH", "O'BRIEN-MCDONALD", ("Niamh", "O'Brien-McDonald")),
        ("PIETER", "VAN DER BERG", ("Pieter", "van der Berg")),
        ("CHARLES", "DE GAULLE", ("Charles", "de Gaulle")),
        ("MARIA", "DE LA CRUZ", ("Maria", "de la Cruz")),
        ("JEAN", "LE BLANC", ("Jean", "Le Blanc")),
        ("JUAN", "GARCIA Y LOPEZ", ("Juan", "Garcia y Lopez")),
        ("MARIA DE LOURDES", "SILVA", ("Maria de Lourdes", "Silva")),
        ("DE ANDRE", "JONES", ("De Andre", "Jones")),
        ("HENRY", "FORD II", ("Henry", "Ford II")),
        ("ÉMILE", "ZOLA", ("Émile", "Zola")),
        ("ʻIOLANI", "KAHANANUI", ("ʻIolani", "Kahananui")),  # the Hawaiian ʻokina is a letter, but has no case
        ("", "VAN", ("", "Van")),
        ("", "PLATO", ("", "Plato")),
        ("Anna-Lena", "McDonald", ("Anna-Lena", "McDonald")),
        ("Pieter", "Van der Berg", ("Pieter", "Van der Berg")),
        ("ADA", "Lovelace", ("Ada", "Lovelace")),
    ],
)
def test_names_are_written_as_names_are(first, last, expected):
    assert contact_name(first, last) == ContactName(*expected)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("ADA LOVELACE", "", ("Ada", "Lovelace")),
        ("", "ADA LOVELACE", ("Ada", "Lovelace")),
        ("LUDWIG VAN BEETHOVEN", "", ("Ludwig", "van Beethoven")),
        ("MARIA JOSE DE LA CRUZ", "", ("Maria Jose", "de la Cruz")),
        ("", "JUAN GARCIA Y LOPEZ", ("Juan", "Garcia y Lopez")),
        ("", "VAN DER BERG", ("", "van der Berg")),
        ("", "LOVELACE, ADA", ("Ada", "Lovelace")),
        ("LOVELACE,ADA AUGUSTA", "", ("Ada Augusta", "Lovelace")),
    ],
)
def test_a_whole_name_in_one_field_is_split_into_first_and_last(first, last, expected):
    assert contact_name(first, last) == ContactName(*expected)


def test_two_filled_name_fields_are_never_split_again():
    assert contact_name("HELENA", "BONHAM CARTER") == ContactName("Helena", "Bonham Carter")


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("ADA", "", [("LastName", "")]),
        ("", "   ", [("LastName", "   ")]),
        ("ADA", ".", [("LastName", ".")]),
        ("?", "LOVELACE", [("FirstName", "?")]),
        ("ADA", "LOVE\x00LACE", [("LastName", "LOVE\x00LACE")]),
        ("A" * 41, "L" * 81, [("FirstName", "A" * 41), ("LastName", "L" * 81)]),
    ],
)
def test_a_missing_last_name_or_a_name_salesforce_would_refuse_is_refused(first, last, expected):
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_name(first, last)

    assert refusals(refused) == expected


def test_the_refusal_of_a_too_long_name_says_how_long_it_may_be():
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_name("ADA", "L" * 81)

    assert refused.value.refusals[0].reason == "is 81 characters long, and Salesforce keeps at most 80"


# --- Phone ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "region", "expected"),
    [
        ("020 7946 0001      ", "GB", "+442079460001"),
        ("0161 496 0000", "GB", "+441614960000"),
        ("(020) 7946-0001", "GB", "+442079460001"),
        ("0044 20 7946 0001", "GB", "+442079460001"),
        ("+44 (0)20 7946 0001", "GB", "+442079460001"),
        ("+1 202-555-0100", "GB", "+12025550100"),
        ("202.555.0100", "US", "+12025550100"),
        ("+39 06 1234 5678", "GB", "+390612345678"),
        ("+442079460001", "GB", "+442079460001"),
    ],
)
def test_a_valid_number_is_written_in_e164(given, region, expected):
    assert contact_phone(given, region) == expected


@pytest.mark.parametrize(
    ("given", "region", "expected"),
    [
        ("202-555-0100        ", "GB", "202-555-0100"),  # not a British number: its country is unknown
        ("07700 900123", "GB", "07700 900123"),  # a range Ofcom keeps for drama, given to no one
        ("1-800-FLOWERS", "US", "1-800-FLOWERS"),  # letters for digits
        ("020 7946 0001 ext 12", "GB", "020 7946 0001 ext 12"),  # E.164 has no extension
        ("020 7946 0001 / 0002", "GB", "020 7946 0001 / 0002"),  # two numbers
        ("011 15 1234-5678", "AR", "011 15 1234-5678"),  # Argentina's rules would turn the mobile 15 into a 9
        ("+44 20 7946", "GB", "+44 20 7946"),
        ("ask at the desk", "GB", "ask at the desk"),
        ("", "GB", ""),
        ("                    ", "GB", ""),
    ],
)
def test_a_number_that_cannot_be_written_in_e164_is_kept_as_given_less_its_padding(given, region, expected):
    assert contact_phone(given, region) == expected


@pytest.mark.parametrize("given", ["0" * 41, "020 7946 0001\x07"])
def test_a_number_kept_as_given_that_salesforce_would_refuse_is_refused(given):
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_phone(given, "GB")

    assert refusals(refused) == [("Phone", given)]


def test_a_region_phonenumbers_does_not_know_is_a_programming_error_not_a_refusal():
    with pytest.raises(ValueError, match="'UK' is not a region"):
        contact_phone("020 7946 0001", "UK")


# --- Email ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ADA.LOVELACE@EXAMPLE.COM     ", "ada.lovelace@example.com"),
        ("  Grace.Hopper+Navy@Example.co.uk", "grace.hopper+navy@example.co.uk"),
        ("", ""),
        ("        ", ""),
    ],
)
def test_the_email_is_trimmed_and_lower_cased(given, expected):
    assert contact_email(given) == expected


@pytest.mark.parametrize(
    "given",
    ["ADA.LOVELACE", "ADA@", "ADA@EXAMPLE", "ADA LOVELACE@EXAMPLE.COM", "ADA@@EXAMPLE.COM", "ADA@EXAMPLE..COM"],
)
def test_an_email_django_would_not_accept_is_refused(given):
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_email(given)

    assert refusals(refused) == [("Email", given)]


def test_an_email_longer_than_salesforce_keeps_is_refused():
    given = "a" * 64 + "@example-domain.com"
    with pytest.raises(UnmigratableCustomer) as refused:
        contact_email(given)

    assert refused.value.refusals == (
        Refusal("Email", "is 83 characters long, and Salesforce keeps at most 80", given),
    )


# --- Account status -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"), [("A", "Active"), ("I", "Inactive"), ("C", "Closed"), (" c ", "Closed"), ("a", "Active")]
)
def test_the_account_status_letter_becomes_its_name(given, expected):
    assert account_status(given) == expected


@pytest.mark.parametrize("given", ["", " ", "X", "AC", "Active", "ı"])
def test_an_unknown_account_status_is_refused(given):
    with pytest.raises(UnmigratableCustomer) as refused:
        account_status(given)

    assert refusals(refused) == [("Legacy_Account_Status__c", given)]


# --- Properties -----------------------------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates and control characters too
PADDING = st.text(" ", max_size=6)
LEGACY_TEXT = st.builds(
    lambda text, padding: text + padding,
    st.text(string.ascii_uppercase + string.digits + " .'-,@+()", max_size=30),
    PADDING,
)
NAME_WORDS = st.one_of(
    st.text(string.ascii_uppercase, min_size=1, max_size=10),
    st.sampled_from(["VAN", "DER", "DE", "LA", "Y", "DOS", "LE", "III", "O'BRIEN", "D'ARCY", "MCKAY", "MACLEOD"]),
    st.builds(lambda a, b: f"{a}-{b}", st.text(string.ascii_uppercase, min_size=1), st.text(string.ascii_uppercase)),
    st.builds("MC{}".format, st.text(string.ascii_uppercase, max_size=8)),
    st.builds("MAC{}".format, st.text(string.ascii_uppercase, max_size=8)),
)
LEGACY_NAMES = st.builds(
    lambda words, case, padding: getattr(" ".join(words), case)() + padding,
    st.lists(NAME_WORDS, max_size=4),
    st.sampled_from(["upper", "lower", "title"]),
    PADDING,
)
LETTERS = st.one_of(st.sampled_from(["A", "I", "C", " A", "c", "X", ""]), ANY_TEXT)
NUMBERS = st.one_of(st.from_regex(r"\A[0-9]{1,10}\Z").map(lambda number: number.zfill(10)), LEGACY_TEXT, ANY_TEXT)
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NUMBER_TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@st.composite
def written_phone_numbers(draw: st.DrawFn) -> tuple[str, str, phonenumbers.PhoneNumber]:
    """A valid number of some region, written as people write it: (text, the region assumed, the number)."""
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number_for_type(region, draw(st.sampled_from(NUMBER_TYPES)))
    if number is None:
        number = phonenumbers.example_number(region) or phonenumbers.parse("+442079460001")
    text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    assumed = draw(st.sampled_from([region, "GB", "US"]))
    return draw(PADDING) + text + draw(PADDING), assumed, number


PHONES = st.one_of(written_phone_numbers().map(lambda written: written[0]), LEGACY_TEXT, ANY_TEXT)
EMAILS = st.one_of(
    st.builds(lambda email, padding: email.upper() + padding, st.emails(), PADDING),
    st.builds(lambda email, padding: padding + email + padding, st.emails(), PADDING),
    LEGACY_TEXT,
    ANY_TEXT,
)
# Records much like the old system's, most of which map, and records of any text at all, most of which are refused.
RECORDS = st.one_of(
    st.builds(
        LegacyCustomerValues,
        customer_number=st.from_regex(r"\A[0-9]{1,10}\Z").map(lambda number: number.zfill(10)),
        first_name=LEGACY_NAMES,
        last_name=LEGACY_NAMES,
        email=st.one_of(st.just(""), st.builds(lambda email, padding: email.upper() + padding, st.emails(), PADDING)),
        phone=st.one_of(st.just(""), written_phone_numbers().map(lambda written: written[0]), LEGACY_TEXT),
        account_status=st.sampled_from(["A", "I", "C"]),
    ),
    st.builds(
        LegacyCustomerValues,
        customer_number=NUMBERS,
        first_name=st.one_of(LEGACY_NAMES, ANY_TEXT),
        last_name=st.one_of(LEGACY_NAMES, ANY_TEXT),
        email=EMAILS,
        phone=PHONES,
        account_status=LETTERS,
    ),
)


@settings(max_examples=400, deadline=None)
@given(RECORDS, st.sampled_from(["GB", "US", "DE", "AR"]))
def test_any_text_maps_to_a_good_row_or_is_refused_with_reasons_and_nothing_else(customer, region):
    try:
        row = contact_row(customer, phone_region=region)
    except UnmigratableCustomer as refused:
        assert refused.refusals
        assert all(refusal.field in CONTACT_COLUMNS and refusal.reason for refusal in refused.refusals)
        return

    assert tuple(row) == CONTACT_COLUMNS
    assert row["Legacy_Customer_Number__c"] == customer.customer_number.strip()
    assert row["LastName"]
    assert row["Email"] == row["Email"].lower()
    if row["Email"]:
        validate_email(row["Email"])
    assert E164.match(row["Phone"]) or row["Phone"] == customer.phone.strip()
    assert row["Legacy_Account_Status__c"] in ("Active", "Inactive", "Closed")
    assert mapped_again(row, region) == row


@given(st.from_regex(r"\A[0-9A-Z]{1,10}\Z"), PADDING)
def test_the_external_id_is_never_changed(number, padding):
    assert contact_row(legacy(customer_number=number + padding))["Legacy_Customer_Number__c"] == number


@settings(max_examples=300, deadline=None)
@given(written_phone_numbers())
@example(("011 15-2345-6789", "AR", phonenumbers.parse("+5491123456789")))
def test_a_valid_number_written_any_usual_way_becomes_its_e164(written):
    text, region, number = written
    international = text.strip().startswith("+")
    own_region = phonenumbers.region_code_for_number(number) == region
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    mapped = contact_phone(text, region)

    # Some regions' own national form differs from the number's digits (Argentina's mobile "15" for "9"): those the
    # mapping keeps as written rather than rewrite the number itself.
    rewritten = not re.sub(r"[^0-9]", "", text).endswith(phonenumbers.national_significant_number(number))
    if rewritten:
        assert mapped == text.strip()
    elif international or own_region:
        assert mapped == e164
    else:  # a national number read as one of the region assumed, where it may be valid too
        assumed = f"+{phonenumbers.country_code_for_region(region)}"
        assert mapped == text.strip() or mapped.startswith(assumed)


@settings(max_examples=300, deadline=None)
@given(st.one_of(PHONES, written_phone_numbers().map(lambda written: written[0])), st.sampled_from(REGIONS))
def test_a_phone_is_e164_or_as_given_and_no_digit_is_invented(text, region):
    try:
        mapped = contact_phone(text, region)
    except UnmigratableCustomer:
        return

    assert contact_phone(mapped, region) == mapped
    if mapped != text.strip():
        assert E164.match(mapped)
        national = phonenumbers.national_significant_number(phonenumbers.parse(mapped))
        assert re.sub(r"[^0-9]", "", text).endswith(national)


@settings(max_examples=300, deadline=None)
@given(EMAILS)
def test_a_mapped_email_is_lower_case_and_passes_the_validator_again(text):
    try:
        email = contact_email(text)
    except UnmigratableCustomer:
        return

    assert email == text.strip().lower()
    if email:
        validate_email(email)
    assert contact_email(email) == email


@settings(max_examples=300, deadline=None)
@given(st.one_of(LEGACY_NAMES, ANY_TEXT), st.one_of(LEGACY_NAMES, ANY_TEXT))
def test_names_mapped_again_stay_as_they_are_and_never_lose_the_last_name(first, last):
    try:
        name = contact_name(first, last)
    except UnmigratableCustomer:
        return

    assert name.last_name
    assert contact_name(name.first_name, name.last_name) == name


@settings(max_examples=300, deadline=None)
@given(LEGACY_NAMES, LEGACY_NAMES)
def test_writing_a_legacy_name_as_names_are_loses_and_adds_no_letter(first, last):
    try:
        name = contact_name(first, last)
    except UnmigratableCustomer:
        return

    if "," not in first + last:
        given_words = (first + " " + last).lower().split()
        assert (name.first_name + " " + name.last_name).lower().split() == given_words
