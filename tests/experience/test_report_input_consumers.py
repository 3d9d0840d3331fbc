"""The web form, REST v1 and the Process REST face take a report's fields as its one definition says."""

import pytest
from django import forms

from experience_apis.rest.api import IncidentInputSerializer
from experience_apis.web.forms import HONEYPOT_FIELD, IncidentReportForm
from process_apis.customer_incidents.api import ReportInputSerializer
from process_apis.customer_incidents.inputs import REPORT_INPUT
from tests.reports import ADA_REPORT


def choices(field) -> list | None:
    """A field's choice values, without a form's "Choose one" (DRF keeps them as a dict, forms as pairs)."""
    if not getattr(field, "choices", None):
        return None
    values = list(field.choices) if isinstance(field.choices, dict) else [value for value, _ in field.choices]
    return [value for value in values if value != ""]


def rules(fields: dict) -> dict[str, tuple]:
    """What each field accepts: its length, its choices and whether it is required."""
    return {
        name: (getattr(field, "max_length", None), choices(field), field.required) for name, field in fields.items()
    }


DEFINED = rules(REPORT_INPUT)


# What the form and REST v1 ask for beyond the definition: the customer's name and a description.
ASKED_FOR_MORE = {**DEFINED, **{name: (*DEFINED[name][:-1], True) for name in ("name", "description")}}


@pytest.mark.parametrize(
    ("serializer", "expected"), [(IncidentInputSerializer, ASKED_FOR_MORE), (ReportInputSerializer, DEFINED)]
)
def test_both_rest_faces_take_the_defined_fields_in_order(serializer, expected):
    fields = serializer().fields

    assert rules(fields) == expected
    assert list(fields) == list(REPORT_INPUT)


def test_the_web_form_takes_the_defined_fields_in_order_and_its_honeypot_after_them():
    fields = dict(IncidentReportForm().fields)
    honeypot = fields.pop(HONEYPOT_FIELD)

    assert rules(fields) == ASKED_FOR_MORE
    assert list(fields) == list(REPORT_INPUT)
    assert not honeypot.required
    assert isinstance(fields["urgency"], forms.TypedChoiceField)
    assert fields["urgency"].clean("2") == 2
    assert fields["category"].choices[0] == ("", "Choose one")


def test_the_form_tells_people_the_stored_lengths():
    fields = IncidentReportForm().fields

    assert fields["short_description"].help_text == "One line, up to 160 characters."
    assert fields["description"].help_text.endswith("Up to 4000 characters.")


def test_only_rest_v1_refuses_fields_the_definition_does_not_have():
    body = {**ADA_REPORT, "reference": "IH-0000000000"}

    v1, process = IncidentInputSerializer(data=body), ReportInputSerializer(data=body)

    assert not v1.is_valid()
    assert v1.errors == {"reference": ["Unknown field."]}
    assert process.is_valid(), process.errors
    assert process.validated_data == ADA_REPORT
