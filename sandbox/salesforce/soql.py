"""The SOQL subset the Salesforce stand-in understands.

    SELECT <fields> FROM Contact
    [WHERE <field> = '<literal>' | null [AND ...]]
    [ORDER BY <field> [ASC | DESC] [NULLS FIRST | NULLS LAST] [, ...]]
    [LIMIT n]

Keywords and field names in any case, string literals with Salesforce's escape sequences. ORDER BY takes
one field or more; ASC is the default direction, and nulls come first when ascending, last when
descending. LastModifiedDate and CreatedDate are datetimes: they can be selected, sorted on and compared
with null, not with a quoted string. What it does not know fails the way Salesforce fails:
MALFORMED_QUERY, INVALID_FIELD or INVALID_TYPE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lower-case name -> the API name Salesforce answers with, whatever case the query used.
CONTACT_FIELDS = {
    "id": "Id",
    "firstname": "FirstName",
    "lastname": "LastName",
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "accountid": "AccountId",
    "createddate": "CreatedDate",
    "lastmodifieddate": "LastModifiedDate",
    "legacy_customer_number__c": "Legacy_Customer_Number__c",
    "legacy_account_status__c": "Legacy_Account_Status__c",
}
ACCOUNT_FIELDS = {"id": "Id", "name": "Name"}
DATETIME_FIELDS = {"CreatedDate", "LastModifiedDate"}
KEYWORDS = {"select", "from", "where", "and", "order", "by", "asc", "desc", "nulls", "limit", "null"}

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<number>\d+)
      | (?P<punct>[,=])
      | (?P<other>\S)
    )""",
    re.VERBOSE | re.DOTALL,
)
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Ordering:
    field: str  # API name
    descending: bool = False
    nulls_first: bool = True


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]  # API names, e.g. "Email", "Account.Name"
    conditions: tuple[tuple[str, str | None], ...]  # (API name, literal or None for null)
    limit: int | None
    order_by: tuple[Ordering, ...] = ()


def parse(soql: str) -> Query:
    tokens = _tokens(soql)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(kind: str | None = None, keyword: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        if (kind and token[0] != kind) or (keyword and token[1].lower() != keyword):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token[1]}'")
        position += 1
        return token[1]

    def at_keyword(keyword: str) -> bool:
        token = peek()
        return token is not None and token[0] == "name" and token[1].lower() == keyword

    take("name", "select")
    selected = [take("name")]
    while peek() == ("punct", ","):
        take()
        selected.append(take("name"))
    take("name", "from")
    entity = take("name")
    if entity.lower() != "contact":
        raise SoqlError("INVALID_TYPE", f"sObject type '{entity}' is not supported.")
    fields = tuple(_field(name) for name in selected)

    conditions: list[tuple[str, str | None]] = []
    if at_keyword("where"):
        take()
        while True:
            field = _field(take("name"))
            if take("punct") != "=":
                raise SoqlError("MALFORMED_QUERY", "unexpected token: ','")
            if at_keyword("null"):
                take()
                conditions.append((field, None))
            else:
                literal = _literal(take("string"))
                if field in DATETIME_FIELDS:
                    raise SoqlError(
                        "INVALID_FIELD",
                        f"value of filter criterion for field '{field}' must be of type dateTime and should not "
                        "be enclosed in quotes",
                    )
                conditions.append((field, literal))
            if not at_keyword("and"):
                break
            take()

    order_by: list[Ordering] = []
    if at_keyword("order"):
        take()
        take("name", "by")
        while True:
            field = _field(take("name"))
            descending = False
            if at_keyword("asc") or at_keyword("desc"):
                descending = take().lower() == "desc"
            # Salesforce's default: nulls are the lowest values, first when ascending, last when descending.
            nulls_first = not descending
            if at_keyword("nulls"):
                take()
                placement = take("name")
                if placement.lower() not in ("first", "last"):
                    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{placement}'")
                nulls_first = placement.lower() == "first"
            order_by.append(Ordering(field=field, descending=descending, nulls_first=nulls_first))
            if peek() != ("punct", ","):
                break
            take()

    limit = None
    if at_keyword("limit"):
        take()
        limit = int(take("number"))
    if peek() is not None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{peek()[1]}'")  # type: ignore[index]
    return Query(fields=fields, conditions=tuple(conditions), limit=limit, order_by=tuple(order_by))


def _tokens(soql: str) -> list[tuple[str, str]]:
    tokens = []
    for match in TOKEN.finditer(soql):
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "other":
            if match.group(kind) == "'":
                raise SoqlError("MALFORMED_QUERY", "unterminated string literal")
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{match.group(kind)}'")
        tokens.append((kind, match.group(kind)))
    return tokens


def _field(name: str) -> str:
    if name.lower() in KEYWORDS:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{name}'")
    parts = name.split(".")
    if len(parts) == 1:
        if parts[0].lower() not in CONTACT_FIELDS:
            raise SoqlError("INVALID_FIELD", NO_SUCH_COLUMN.format(field=name, entity="Contact"))
        return CONTACT_FIELDS[parts[0].lower()]
    if len(parts) == 2 and parts[0].lower() == "account":
        if parts[1].lower() not in ACCOUNT_FIELDS:
            raise SoqlError("INVALID_FIELD", NO_SUCH_COLUMN.format(field=parts[1], entity="Account"))
        return f"Account.{ACCOUNT_FIELDS[parts[1].lower()]}"
    raise SoqlError(
        "INVALID_FIELD",
        f"Didn't understand relationship '{parts[0]}' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name.",
    )


def _literal(quoted: str) -> str:
    body, out, index = quoted[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape.lower() in ESCAPES:
            out.append(ESCAPES[escape.lower()])
            index += 2
        elif escape in "uU" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[index + 2 : index + 6]):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Invalid string literal '{body}'. Illegal character sequence '\\{escape}' in string literal.",
            )
    return "".join(out)
