"""Report references: `IH-` and 10 characters of Crockford base32 (50 random bits), made here only."""

import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "IH-"
LENGTH = 10
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_reference() -> str:
    return PREFIX + "".join(secrets.choice(CROCKFORD) for _ in range(LENGTH))


def normalize_reference(text: str) -> str | None:
    """A reference as typed by a person (any case, O for 0, spaces, dashes) or None if it cannot be one."""
    cleaned = text.strip().upper().replace(" ", "").replace("-", "")
    if cleaned.startswith("IH"):
        cleaned = cleaned[2:]
    cleaned = cleaned.translate(_READ_AS)
    if len(cleaned) != LENGTH or any(char not in CROCKFORD for char in cleaned):
        return None
    return PREFIX + cleaned
