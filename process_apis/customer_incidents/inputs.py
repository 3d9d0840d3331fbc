"""A report's input, defined once: what every consumer accepts and what `incident_report` stores.

Lengths, choices and required-ness are read from the stored columns of `IncidentRequest`, so a consumer
built from here (the web form, REST v1, the Process REST face, the next one) can never accept a value that
the table would refuse.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from rest_framework import serializers

from ..models import IncidentRequest


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

    def serializer_field(self) -> serializers.Field:
        options: dict[str, Any] = {"help_text": self.help_text} if self.help_text else {}
        if self.choices:
            return serializers.ChoiceField(choices=self.choices, **options)
        if not self.required:
            options.update(required=False, allow_blank=True, default="")
        field_class = serializers.EmailField if isinstance(self.column, models.EmailField) else serializers.CharField
        return field_class(max_length=self.max_length, **options)

    def form_field(self, *, empty_choice: str = "", **presentation: Any) -> forms.Field:
        """The column's own form field; `presentation` is the form's (label, help text, messages, widget)."""
        if self.choices:
            presentation["choices"] = [("", empty_choice), *self.choices] if empty_choice else self.choices
        return self.column.formfield(**presentation)


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


# A report as the REST faces take it (no docstring: it would become the schema's description).
class ReportInputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {field.name: field.serializer_field() for field in REPORT_INPUT.values()}
