"""Sample customers for a large CUST_MASTER: realistic, and partly dirty as an old system's table is.

Customer `index` of a seed is drawn from a random stream of its own, so a seed gives the same customers whatever
the count and a larger count only adds customers after them.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from random import Random

from .schema import NO_TIMESTAMP, ensure_schema, insert_missing_customers

# After the demo customers' numbers (0000100001...).
FIRST_SAMPLE_NUMBER = 1_000_001
# The "now" of the samples' history, fixed so that a seed gives the same table on any day.
SAMPLE_CLOCK = datetime(2025, 6, 30, 18, 0, 0)
FIRST_OPENING = date(1998, 1, 1)

BAD_EMAIL_SHARE = 0.03
DUPLICATE_EMAIL_SHARE = 0.02
MISSING_NAME_SHARE = 0.02
NO_PHONE_SHARE = 0.06
JUNK_PHONE_SHARE = 0.02
UNKNOWN_OPENING_SHARE = 0.01
STATUS_WEIGHTS = {"A": 70, "I": 20, "C": 10}

FIRST_NAMES = (
    "JAMES", "OLIVER", "HARRY", "GEORGE", "JACK", "THOMAS", "EMMA", "OLIVIA", "AMELIA", "ISLA", "SOPHIE", "CHLOE",
    "MICHAEL", "ROBERT", "JOHN", "DAVID", "WILLIAM", "MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "SUSAN",
    "JESSICA", "KAREN", "DANIEL", "MATTHEW", "ASHLEY", "BRITTANY", "TYLER", "LUKAS", "JONAS", "LEON", "FELIX",
    "MAXIMILIAN", "PAUL", "ANNA", "LEA", "HANNAH", "LENA", "KATHARINA", "JÜRGEN", "GÜNTER", "BÄRBEL", "UWE",
    "SIOBHAN", "SEAN", "PRIYA", "RAJ", "WEI", "MEI", "FATIMA", "MOHAMMED", "ALI", "ZOE", "CHLOÉ", "RENÉE",
    "ANNE-MARIE", "JEAN-PAUL", "MARY ANN", "JO", "AL",
)  # fmt: skip
LAST_NAMES = (
    "SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT",
    "THOMPSON", "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "WOOD", "JACKSON", "CLARKE", "MILLER",
    "DAVIS", "GARCIA", "RODRIGUEZ", "MARTINEZ", "ANDERSON", "THOMAS", "MOORE", "MARTIN", "LEE", "HARRIS",
    "MÜLLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER", "SCHULZ", "HOFFMANN",
    "SCHRÖDER", "KOCH", "RICHTER", "KLEIN", "WOLF", "NEUMANN", "SCHWARZ", "ZIMMERMANN", "KRÜGER", "HARTMANN",
    "O'BRIEN", "O'NEILL", "MCDONALD", "MACLEOD", "SMITH-JONES", "VAN DER BERG", "DE LA CRUZ", "VON WEISS",
    "NGUYEN", "PATEL", "KHAN", "SINGH", "CHEN", "WANG", "KOWALSKI", "NOWAK", "ROSSI", "DUBOIS", "GONZÁLEZ",
)  # fmt: skip
DOMAINS = (
    "example.com", "example.org", "example.net", "mail.example.com", "post.example", "web.example", "online.example",
)  # fmt: skip
JUNK_PHONES = ("N/A", "NONE", "0", "0000000000", "ASK AT DESK", "SEE NOTES", "-", "?", "TBC", "123", "NO PHONE")
TRANSLITERATION = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "É": "E", "Á": "A"})


def sample_number(index: int) -> str:
    return f"{FIRST_SAMPLE_NUMBER + index:010d}"


def sample_customer(seed: int, index: int) -> tuple[str, ...]:
    """Sample customer `index` (from 0) of `seed` as the old system wrote it, one value per CUST_MASTER column."""
    rng = Random(f"{seed}/{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = _email(rng, first, last, index)
    draw = rng.random()
    if index and draw < DUPLICATE_EMAIL_SHARE:
        # Someone who signed up again under a new number, as the old system let them.
        _, first, last, email, *_ = sample_customer(seed, rng.randrange(index))
    elif draw < DUPLICATE_EMAIL_SHARE + BAD_EMAIL_SHARE:
        email = _bad_email(rng, email)
    if rng.random() < MISSING_NAME_SHARE:
        first, last = ("", last) if rng.random() < 0.5 else (first, "")
    opened = None if rng.random() < UNKNOWN_OPENING_SHARE else _day_between(rng, FIRST_OPENING, SAMPLE_CLOCK.date())
    status = rng.choices(tuple(STATUS_WEIGHTS), weights=tuple(STATUS_WEIGHTS.values()))[0]
    return (
        sample_number(index),
        first,
        last,
        email,
        _phone(rng),
        status,
        opened.strftime("%Y%m%d") if opened else "00000000",
        _last_change(rng, opened),
    )


def seed_sample_customers(
    alias: str, *, count: int, seed: int, batch: int = 5000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Insert sample customers 0..count-1 of `seed` that are not there yet, `batch` rows per statement run and
    transaction; `progress(done, inserted)` after each batch. Returns how many were inserted."""
    ensure_schema(alias)
    inserted = 0
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        inserted += insert_missing_customers(alias, [sample_customer(seed, index) for index in range(start, stop)])
        if progress is not None:
            progress(stop, inserted)
    return inserted


def _email(rng: Random, first: str, last: str, index: int) -> str:
    first, last = _mailbox_word(first), _mailbox_word(last)
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{last}.{first}", first))
    # The number keeps each customer's address its own: only the drawn duplicates share one.
    return f"{local}{index + 1}@{rng.choice(DOMAINS)}"


def _mailbox_word(name: str) -> str:
    return "".join(c for c in name.translate(TRANSLITERATION).lower() if "a" <= c <= "z")


def _bad_email(rng: Random, email: str) -> str:
    local, domain = email.split("@")
    double_dot = (
        f"{local.replace('.', '..', 1)}@{domain}" if "." in local else f"{local}@{domain.replace('.', '..', 1)}"
    )
    return rng.choice(
        (f"{local}.{domain}", f"{local} at {domain}", f"{local} @{domain}", f"{local}@ {domain}", double_dot)
    )


def _phone(rng: Random) -> str:
    draw = rng.random()
    if draw < NO_PHONE_SHARE:
        return ""
    if draw < NO_PHONE_SHARE + JUNK_PHONE_SHARE:
        return rng.choice(JUNK_PHONES)
    return rng.choices((_uk_phone, _us_phone, _de_phone), weights=(40, 30, 30))[0](rng)


def _uk_phone(rng: Random) -> str:
    # Ofcom's numbers for drama: London, Manchester, Birmingham, mobiles.
    line = f"{rng.randrange(1000):03d}"
    area, number = rng.choice(
        (("20", f"7946 0{line}"), ("161", f"496 0{line}"), ("121", f"496 0{line}"), ("7700", f"900{line}"))
    )
    return rng.choice(
        (
            f"0{area} {number}",
            f"+44 {area} {number}",
            f"+44 (0){area} {number}",
            f"(0{area}) {number}",
            f"0{area}{number.replace(' ', '')}",
            f"0044 {area} {number}",
            f"0{area}-{number.replace(' ', '-')}",
        )
    )


def _us_phone(rng: Random) -> str:
    # 555-0100 to 555-0199: the exchange's numbers for fiction.
    area, line = rng.choice(("202", "212", "312", "415", "617", "713", "305")), f"01{rng.randrange(100):02d}"
    return rng.choice(
        (
            f"{area}-555-{line}",
            f"({area}) 555-{line}",
            f"{area}.555.{line}",
            f"+1 {area} 555 {line}",
            f"+1 ({area}) 555-{line}",
            f"1-{area}-555-{line}",
            f"{area}555{line}",
            f"{area}-555-{line} x{rng.randrange(10, 1000)}",
        )
    )


def _de_phone(rng: Random) -> str:
    # Berlin, Hamburg, Munich, Frankfurt, Cologne, then mobiles.
    area = rng.choice(("30", "40", "89", "69", "221", "151", "160", "171", "176"))
    subscriber = str(rng.randrange(10**5, 10**8))
    grouped = " ".join(subscriber[i : i + 2] for i in range(0, len(subscriber), 2))
    return rng.choice(
        (
            f"0{area} {subscriber}",
            f"0{area}/{subscriber}",
            f"+49 {area} {subscriber}",
            f"+49 (0){area} {subscriber}",
            f"0049 {area} {subscriber}",
            f"(0{area}) {grouped}",
            f"0{area}-{subscriber}",
        )
    )


def _day_between(rng: Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _last_change(rng: Random, opened: date | None) -> str:
    if opened is None and rng.random() < 0.5:
        return NO_TIMESTAMP
    start = datetime.combine(opened or FIRST_OPENING, time())
    draw = rng.random()
    if draw < 0.25:
        # Not changed since it was opened.
        changed = start
    elif draw < 0.45:
        # Touched by the old system's nightly batch.
        changed = datetime.combine(_day_between(rng, start.date(), SAMPLE_CLOCK.date()), time(2, 0))
    else:
        # Mostly in the last years: recent changes are the common ones.
        span = (SAMPLE_CLOCK - start).total_seconds()
        changed = start + timedelta(seconds=int(span * (1 - rng.random() ** 3)))
    return changed.strftime("%Y%m%d%H%M%S")
