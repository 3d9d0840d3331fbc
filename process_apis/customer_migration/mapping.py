"""How one legacy customer becomes one Salesforce Contact row of the migration, or why it cannot.

The migration upserts Contacts through Salesforce's Bulk API 2.0, one CSV row per CUST_MASTER record, keyed by
`Legacy_Customer_Number__c` (`CONTACT_COLUMNS`, in the order of the CSV header). `contact_row` turns a record's raw
values into that row, or raises `UnmigratableCustomer` listing every field that keeps the record out of Salesforce
(the Contact field, why, the value as given), for a person to fix in the legacy data. The rules are pure functions of
the values and of the region assumed for a phone number without a country code (`LEGACY_PHONE_REGION`), so that a
run, a dry run and the customer merge map a record alike, and mapping a mapped row again changes nothing:

- customer number: the external id, exactly as the old system keeps it (leading zeros too) less its padding;
- names: padding and repeated spaces dropped; a name in one case only (the old system's upper case) is written as
  names are ("ADA" -> "Ada", "O'BRIEN" -> "O'Brien", "MCDONALD" -> "McDonald", "SMITH-JONES" -> "Smith-Jones",
  "VAN DER BERG" -> "van der Berg"); one in mixed case was typed with care and is kept. A whole name in one field
  while the other is empty is split: "LOVELACE, ADA", or the last word with the particles before it as last name.
  An empty first name is allowed, an empty last name is not (Salesforce requires LastName);
- phone: E.164 when the number is valid and every digit of it comes from the legacy value (the country code may come
  from the region), else kept as given less its padding: no digit is ever invented; empty stays empty;
- email: trimmed and lower-cased, and refused unless Django's email validation accepts it; empty stays empty;
- account status: A, I, C -> Active, Inactive, Closed; any other letter is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from kernel.errors import ApplicationError

T = TypeVar("T")

CUSTOMER_NUMBER = "Legacy_Customer_Number__c"
FIRST_NAME = "FirstName"
LAST_NAME = "LastName"
EMAIL = "Email"
PHONE = "Phone"
ACCOUNT_STATUS = "Legacy_Account_Status__c"
CONTACT_COLUMNS = (CUSTOMER_NUMBER, FIRST_NAME, LAST_NAME, EMAIL, PHONE, ACCOUNT_STATUS)

# The lengths Salesforce gives these Contact fields: a longer value would be rejected there (STRING_TOO_LONG).
MAX_LENGTHS = {FIRST_NAME: 40, LAST_NAME: 80, EMAIL: 80, PHONE: 40}
ACCOUNT_STATUSES = {"A": "Active", "I": "Inactive", "C": "Closed"}

# Lower-case before the rest of a surname ("van der Berg", "de Gaulle", "dos Santos").
LEADING_PARTICLES = frozenset(
    {"van", "von", "der", "den", "ter", "ten", "de", "du", "des", "da", "dos", "das", "do", "del"}
)
# Lower-case only after one of those ("de la Cruz", "de los Santos"): alone they start a surname ("Le Blanc").
JOINED_PARTICLES = frozenset({"la", "le", "las", "los"})
SURNAME_PARTICLES = LEADING_PARTICLES | JOINED_PARTICLES
ROMAN_NUMERALS = frozenset({"ii", "iii", "iv"})
# "O'Brien", "D'Angelo": one letter and an apostrophe before the name proper.
ELIDED = re.compile(r"(?P<letter>[^\W\d_])(?P<apostrophe>['’])(?P<rest>.+)")
MC = re.compile(r"mc[^\W\d_]{2,}")
# "MacDonald", "MacLeod": at least six letters, not ending in a, c, i, o, z or j as Italian or Spanish names such as
# "Macchi" or "Macedo" do; names that only look like one are listed.
MAC = re.compile(r"mac[^\W\d_]{2,}[^\W\d_aciozj]")
MAC_LOOKALIKES = frozenset(
    {
        "macaulay",
        "machado",
        "machar",
        "machell",
        "machen",
        "machin",
        "machlin",
        "machon",
        "macias",
        "macken",
        "mackey",
        "mackie",
        "macklin",
        "mackintosh",
        "mackle",
        "mackley",
        "maclin",
        "macomber",
        "macquarie",
    }
)
# What a phone number written for people may hold besides its digits; anything else (letters, an extension, a second
# number after "/") cannot be written in E.164 without losing or inventing something.
DIALLABLE = re.compile(r"\+?[0-9 ().\-]+")
# Characters a CSV row for Salesforce must not carry: control characters and lone surrogates (not UTF-8).
UNSENDABLE_CATEGORIES = frozenset({"Cc", "Cs"})


@dataclass(frozen=True)
class LegacyCustomerValues:
    """One CUST_MASTER record's values as the old system holds them: upper-case, space-padded text."""

    customer_number: str
    first_name: str
    last_name: str
    email: str
    phone: str
    account_status: str


@dataclass(frozen=True)
class ContactName:
    first_name: str
    last_name: str


@dataclass(frozen=True)
class Refusal:
    """One reason a legacy record cannot become a Contact: the Contact field, why, and the legacy value as given."""

    field: str
    reason: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "value": self.value}


class UnmigratableCustomer(ApplicationError):
    """The legacy record cannot be sent to Salesforce as it is: `refusals` say which fields to fix, and why."""

    http_status = 422

    def __init__(self, refusals: Sequence[Refusal], *, customer_number: str = "") -> None:
        self.refusals = tuple(refusals)
        self.customer_number = customer_number
        whose = f"Legacy customer {customer_number!r}" if customer_number else "The legacy customer"
        reasons = "; ".join(f"{refusal.field} {refusal.reason}" for refusal in self.refusals)
        super().__init__(
            f"{whose} cannot be migrated: {reasons}.",
            extra={"customer_number": customer_number, "refusals": [refusal.as_dict() for refusal in self.refusals]},
        )


def contact_row(customer: LegacyCustomerValues, *, phone_region: str | None = None) -> dict[str, str]:
    """The Contact row for `customer`, keyed by `CONTACT_COLUMNS` in their order; raises `UnmigratableCustomer`
    with every refusal of the record at once. `phone_region` defaults to the `LEGACY_PHONE_REGION` setting."""
    region = phone_region or settings.LEGACY_PHONE_REGION
    refusals: list[Refusal] = []

    def mapped(rule: Callable[[], T]) -> T | None:
        try:
            return rule()
        except UnmigratableCustomer as refused:
            refusals.extend(refused.refusals)
            return None

    number = mapped(lambda: external_id(customer.customer_number))
    name = mapped(lambda: contact_name(customer.first_name, customer.last_name))
    email = mapped(lambda: contact_email(customer.email))
    phone = mapped(lambda: contact_phone(customer.phone, region))
    status = mapped(lambda: account_status(customer.account_status))
    if refusals:
        raise UnmigratableCustomer(refusals, customer_number=customer.customer_number.strip())
    return {
        CUSTOMER_NUMBER: number,
        FIRST_NAME: name.first_name,
        LAST_NAME: name.last_name,
        EMAIL: email,
        PHONE: phone,
        ACCOUNT_STATUS: status,
    }


def external_id(customer_number: str) -> str:
    """The legacy customer number as Salesforce's upsert key: as given, less the padding around it."""
    number = customer_number.strip()
    if not number:
        _refuse(CUSTOMER_NUMBER, "is empty, and it is the external id the Contact is upserted by", customer_number)
    if any(char.isspace() or _unsendable(char) for char in number):
        _refuse(CUSTOMER_NUMBER, "has spaces or control characters inside", customer_number)
    return number


def contact_name(first_name: str, last_name: str) -> ContactName:
    """FirstName and LastName from the legacy name fields (see the module's rules)."""
    written = name_as_written(first_name, last_name)
    first, last = written.first_name, written.last_name
    refusals = [*_name_refusals(FIRST_NAME, first, first_name), *_name_refusals(LAST_NAME, last, last_name)]
    if not last:
        refusals.append(Refusal(LAST_NAME, "is empty, and Salesforce requires a last name", last_name))
    if refusals:
        raise UnmigratableCustomer(refusals)
    return ContactName(first_name=first, last_name=last)


def name_as_written(first_name: str, last_name: str) -> ContactName:
    """The legacy name fields as the migration writes them (split and re-cased by the module's rules), never
    refused: how the customer merge shows a customer Salesforce does not know."""
    first, last = _collapsed(first_name), _collapsed(last_name)
    whole = first if not last else last if not first else ""
    split = _split_full_name(whole) if whole else None
    if split:
        first, last = split
    return ContactName(first_name=_cased(first, surname=False), last_name=_cased(last, surname=True))


def contact_email(email: str) -> str:
    """The address trimmed and lower-cased; empty when there is none; refused when Django would not accept it."""
    address = email.strip().lower()
    refusals = _text_refusals(EMAIL, address, email)
    if address and not refusals:
        try:
            validate_email(address)
        except ValidationError:
            refusals.append(Refusal(EMAIL, "is not a valid email address", email))
    if refusals:
        raise UnmigratableCustomer(refusals)
    return address


def contact_phone(phone: str, region: str) -> str:
    """The number in E.164 where it can be written so, else as given less its padding (see the module's rules).

    `region` (ISO 3166 alpha-2, as phonenumbers knows it) is where a number without a country code is assumed to be.
    """
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{region!r} is not a region phonenumbers knows (ISO 3166 alpha-2 codes such as 'GB')")
    written = phone_as_written(phone, phone_region=region)
    refusals = _text_refusals(PHONE, written, phone)
    if refusals:
        raise UnmigratableCustomer(refusals)
    return written


def phone_as_written(phone: str, *, phone_region: str | None = None) -> str:
    """The number as the migration writes it (E.164 where it can be, else as given less its padding), never
    refused. `phone_region` defaults to the `LEGACY_PHONE_REGION` setting."""
    given = phone.strip()
    return _e164(given, phone_region or settings.LEGACY_PHONE_REGION) or given


def account_status(letter: str) -> str:
    """Legacy ACCT_STAT A, I, C as the Contact's `Legacy_Account_Status__c` value."""
    code = letter.strip()
    status = ACCOUNT_STATUSES.get(code.upper() if code.isascii() else code)
    if status is None:
        reason = "is empty" if not code else "is not a legacy account status"
        _refuse(ACCOUNT_STATUS, f"{reason} (A active, I inactive or C closed)", letter)
    return status


def _refuse(field: str, reason: str, value: str) -> NoReturn:
    raise UnmigratableCustomer([Refusal(field, reason, value)])


def _unsendable(char: str) -> bool:
    return unicodedata.category(char) in UNSENDABLE_CATEGORIES


def _text_refusals(field: str, value: str, given: str) -> list[Refusal]:
    refusals = []
    if any(_unsendable(char) for char in value):
        refusals.append(Refusal(field, "contains control characters", given))
    if len(value) > MAX_LENGTHS[field]:
        refusals.append(
            Refusal(field, f"is {len(value)} characters long, and Salesforce keeps at most {MAX_LENGTHS[field]}", given)
        )
    return refusals


def _name_refusals(field: str, name: str, given: str) -> list[Refusal]:
    refusals = _text_refusals(field, name, given)
    if name and not any(char.isalpha() for char in name):
        refusals.append(Refusal(field, "has no letters", given))
    return refusals


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def _split_full_name(name: str) -> tuple[str, str] | None:
    """(first, last) of a whole name written in one field, or None when it holds a single name."""
    before, comma, after = name.partition(",")
    if comma and before.strip() and after.strip() and "," not in after:
        return _collapsed(after), _collapsed(before)
    words = name.split(" ")
    if len(words) < 2:
        return None
    start = len(words) - 1
    while start > 0:
        previous = words[start - 1].lower()
        if previous in SURNAME_PARTICLES:
            start -= 1
        elif previous == "y" and start >= 2:
            # "Garcia y Lopez": the Spanish pair of surnames is one last name.
            start -= 2
        else:
            break
    return " ".join(words[:start]), " ".join(words[start:])


def _cased(name: str, *, surname: bool) -> str:
    """`name` written as names are, when it is in one case only; as given otherwise."""
    if not (name.isupper() or name.islower()):
        return name
    words = name.split(" ")
    cased: list[str] = []
    for index, word in enumerate(words):
        lower = word.lower()
        # A particle is lower-case only before what it belongs to, and a first name's first word is never one.
        before_more = index + 1 < len(words)
        if before_more and (surname or index > 0) and lower in LEADING_PARTICLES:
            cased.append(lower)
        elif before_more and cased and lower in JOINED_PARTICLES and cased[-1] in SURNAME_PARTICLES:
            cased.append(lower)
        elif before_more and cased and lower == "y":
            cased.append(lower)
        elif cased and lower in ROMAN_NUMERALS:
            cased.append(lower.upper())
        else:
            cased.append("-".join(_cased_part(part) for part in lower.split("-")))
    return " ".join(cased)


def _cased_part(part: str) -> str:
    elided = ELIDED.fullmatch(part)
    if elided:
        return elided["letter"].upper() + elided["apostrophe"] + _capitalised(elided["rest"])
    if MC.fullmatch(part):
        return "Mc" + _capitalised(part[2:])
    if MAC.fullmatch(part) and part not in MAC_LOOKALIKES:
        return "Mac" + _capitalised(part[3:])
    return _capitalised(part)


def _capitalised(text: str) -> str:
    """`text` (lower-case) with its first cased letter in title case."""
    for index, char in enumerate(text):
        if char.upper() != char.lower():
            return text[:index] + char.title() + text[index + 1 :]
    return text


def _e164(given: str, region: str) -> str | None:
    if not DIALLABLE.fullmatch(given):
        return None
    try:
        number = phonenumbers.parse(given, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    # Only a trunk prefix ("0"), an international prefix ("00") or a written "(0)" may be dropped, and only the
    # country code added: some regions' rules rewrite the number itself (Argentina's mobile "15" becomes "9").
    digits = re.sub(r"[^0-9]", "", given)
    national = phonenumbers.national_significant_number(number)
    if not digits.endswith(national):
        return None
    if given.startswith("+") and not digits.startswith(str(number.country_code)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
