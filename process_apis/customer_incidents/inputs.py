"""A report's input, defined once: what every consumer accepts and what `incident_report` stores.

Lengths, choices and required-ness are read from the stored columns of `IncidentRequest`, so a consumer
built from here (the web form, REST v1, the Process REST face, the next one) can never accept a value that
the table would refuse, and `incident_report` checks the same rules again for callers that skipped them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from rest_framework import serializers

from kernel.errors import ApplicationError

from ..models import IncidentRequest

P = ParamSpec("P")
R = TypeVar("R")


class ReportField:
    """One field of a report as consumers take it; the column it is stored in says what is allowed."""

    def __init__(self, name: str, *, help_text: str = "") -> None:
        self.name = name
        self.column = IncidentRequest._meta.get_field(name)
        self.required = not self.column.blank
        self.choices: list[tuple[Any, str]] = list(self.column.choices or [])
        # A choice's own length is the column's business, not the consumer's.
        self.max_length: int | None = None if self.choices else self.column.max_length
        # What an API client reads about the field in the OpenAPI schema.
        self.help_text = help_text

    def serializer_field(self, *, required: bool | None = None) -> serializers.Field:
        """The field for a REST face; `required`: a consumer that asks for more than the definition does."""
        options: dict[str, Any] = {"help_text": self.help_text} if self.help_text else {}
        if self.choices:
            return serializers.ChoiceField(choices=self.choices, **options)
        if not (self.required if required is None else required):
            options.update(required=False, allow_blank=True, default="")
        field_class = serializers.EmailField if isinstance(self.column, models.EmailField) else serializers.CharField
        return field_class(max_length=self.max_length, **options)

    def form_field(self, *, empty_choice: str = "", **presentation: Any) -> forms.Field:
        """The column's own form field; `presentation` is the form's (label, help text, messages, widget)."""
        if self.choices:
            presentation["choices"] = [("", empty_choice), *self.choices] if empty_choice else self.choices
        return self.column.formfield(**presentation)

    def errors(self, value: object) -> list[str]:
        """Why `value` cannot be stored in this field, in the words of the column's own form field."""
        try:
            self.form_field().clean(value)
        except ValidationError as exc:
            return exc.messages
        return []


REPORT_INPUT: dict[str, ReportField] = {
    field.name: field
    for field in (
        ReportField("email"),
        ReportField("name"),
        ReportField("order_number"),
        ReportField("category"),
        ReportField("urgency", help_text="1 High, 2 Medium, 3 Low."),
        ReportField("short_description"),
        ReportField("description"),
    )
}


# What the consumer says of the report beside the customer's input: checked by the same rules.
REPORT_ATTRIBUTION: dict[str, ReportField] = {field.name: field for field in (ReportField("filed_by"),)}
# Everything `incident_report` checks: the above, and who called the consumer (which the consumer says, not its user).
REPORT_CHECKED: dict[str, ReportField] = {
    **REPORT_INPUT,
    **REPORT_ATTRIBUTION,
    "api_client_id": ReportField("api_client_id"),
}


class ReportInputError(ApplicationError):
    """A report called in-process with values that cannot be stored; `extra["fields"]` says which."""

    http_status = 400


# A report as the REST faces take it (no docstring: it would become the schema's description).
class ReportInputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: field.serializer_field() for field in REPORT_INPUT.values()}


def report_input_errors(values: Mapping[str, object]) -> dict[str, list[str]]:
    """Per field, why the report's `values` cannot be stored (fields not given are left to the signature)."""
    checked = {name: field.errors(values[name]) for name, field in REPORT_CHECKED.items() if name in values}
    return {name: errors for name, errors in checked.items() if errors}


def report_input_checked(function: Callable[P, R]) -> Callable[P, R]:
    """Refuse a call whose report fields break the one definition, before anything is looked up or stored."""

    @wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        errors = report_input_errors(kwargs)
        if errors:
            raise ReportInputError("The report is not valid.", extra={"fields": errors})
        return function(*args, **kwargs)

    return checked
