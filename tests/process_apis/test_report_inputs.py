"""`incident_report` called in-process refuses what the report's one definition refuses, before any lookup."""

import pytest

from incidents_site.api_errors import exception_handler
from process_apis.customer_incidents.inputs import REPORT_INPUT, ReportInputError, report_input_errors
from process_apis.customer_incidents.services import incident_report
from process_apis.models import IncidentRequest
from tests.reports import ADA_REPORT, TEST_CONSUMER

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

LIMITS = {"email": 254, "name": 200, "order_number": 40, "short_description": 160, "description": 4000}


def too_long(field: str, limit: int) -> str:
    return "a" * (limit - len("@example.com") + 1) + "@example.com" if field == "email" else "x" * (limit + 1)


def test_the_definition_takes_its_lengths_choices_and_required_fields_from_the_stored_columns():
    assert list(REPORT_INPUT) == [
        "email",
        "name",
        "order_number",
        "category",
        "urgency",
        "short_description",
        "description",
    ]
    assert {name: field.max_length for name, field in REPORT_INPUT.items() if field.max_length} == LIMITS
    # The customer's name and a description beyond the one line are for consumers to ask (the form does).
    assert [name for name, field in REPORT_INPUT.items() if not field.required] == [
        "name",
        "order_number",
        "description",
    ]
    assert [choice for choice, _ in REPORT_INPUT["category"].choices] == [
        "order",
        "payment",
        "website",
        "account",
        "other",
    ]
    assert [choice for choice, _ in REPORT_INPUT["urgency"].choices] == [1, 2, 3]


@pytest.mark.parametrize(("field", "limit"), list(LIMITS.items()))
def test_an_over_long_field_is_refused_in_process_by_name_and_nothing_is_looked_up_or_stored(vendors, field, limit):
    value = too_long(field, limit)

    with pytest.raises(ReportInputError) as refused:
        incident_report(**{**ADA_REPORT, field: value}, consumer=TEST_CONSUMER)

    assert refused.value.message == "The report is not valid."
    assert refused.value.extra == {
        "fields": {field: [f"Ensure this value has at most {limit} characters (it has {len(value)})."]}
    }
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_values_outside_the_choices_missing_text_and_a_bad_email_are_all_listed_at_once(vendors):
    with pytest.raises(ReportInputError) as refused:
        incident_report(
            **{
                **ADA_REPORT,
                "email": "nope",
                "category": "weather",
                "urgency": 7,
                "short_description": "   ",
                "description": None,
            },
            filed_by="x" * 201,
            consumer=TEST_CONSUMER,
        )

    assert refused.value.extra == {
        "fields": {
            "email": ["Enter a valid email address."],
            "category": ["Select a valid choice. weather is not one of the available choices."],
            "urgency": ["Select a valid choice. 7 is not one of the available choices."],
            "short_description": ["This field is required."],
            "filed_by": ["Ensure this value has at most 200 characters (it has 201)."],
        }
    }
    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_the_refusal_is_answered_as_a_400_in_the_one_error_shape():
    with pytest.raises(ReportInputError) as refused:
        incident_report(**{**ADA_REPORT, "urgency": "urgent"}, consumer=TEST_CONSUMER)

    response = exception_handler(refused.value, {})

    assert response.status_code == 400
    assert response.data == {
        "message": "The report is not valid.",
        "extra": {"fields": {"urgency": ["Select a valid choice. urgent is not one of the available choices."]}},
    }


def test_values_at_their_limits_and_choices_given_as_text_pass():
    at_limits = {name: "x" * limit for name, limit in LIMITS.items() if name != "email"}

    assert report_input_errors({**ADA_REPORT, **at_limits, "urgency": "3", "order_number": ""}) == {}
    assert report_input_errors({**ADA_REPORT, "email": "a" * (254 - len("@example.com")) + "@example.com"}) == {}


def test_text_is_measured_as_it_is_stored_without_surrounding_whitespace():
    assert report_input_errors({"short_description": "  " + "x" * 160 + "\n"}) == {}
