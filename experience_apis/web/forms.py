"""The browser's forms: what a customer types, checked before the Process APIs see it.

Every error message names its field, so that the error summary at the top of a page reads on its own.
"""

from __future__ import annotations

from typing import Any

from django import forms

from process_apis.customer_incidents.inputs import REPORT_INPUT
from process_apis.customer_incidents.references import normalize_reference

# A field people never see (off screen, hidden from screen readers, skipped by Tab): a bot that fills in
# every field fills this one too, and its report is dropped before anything is stored or sent.
HONEYPOT_FIELD = "website"
HONEYPOT_FILLED = "This report could not be sent: the field that must stay empty was filled in."

EMAIL_ERRORS = {
    "required": "Enter your email address.",
    "invalid": "Enter an email address like name@example.com.",
    "max_length": "An email address can have at most %(limit_value)d characters.",
}


class _WebForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class IncidentReportForm(_WebForm):
    email = REPORT_INPUT["email"].form_field(
        label="Email",
        help_text="We use it to find your customer record and to let you look the report up later.",
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # The form asks the customer for a name and a description, which other consumers may leave out.
    name = REPORT_INPUT["name"].form_field(
        label="Name",
        required=True,
        error_messages={
            "required": "Enter your name.",
            "max_length": "A name can have at most %(limit_value)d characters (it has %(show_value)d).",
        },
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    order_number = REPORT_INPUT["order_number"].form_field(
        label="Order number (optional)",
        help_text="From your order confirmation, if the problem is about an order.",
        error_messages={
            "max_length": "An order number can have at most %(limit_value)d characters (it has %(show_value)d)."
        },
    )
    category = REPORT_INPUT["category"].form_field(
        label="What is it about?",
        empty_choice="Choose one",
        initial="",
        error_messages={
            "required": "Choose what the problem is about.",
            "invalid_choice": "Choose one of the listed topics.",
        },
    )
    urgency = REPORT_INPUT["urgency"].form_field(
        label="How urgent is it?",
        error_messages={
            "required": "Choose how urgent it is.",
            "invalid_choice": "Choose one of the listed urgencies.",
        },
        widget=forms.RadioSelect,
    )
    short_description = REPORT_INPUT["short_description"].form_field(
        label="Short description",
        help_text=f"One line, up to {REPORT_INPUT['short_description'].max_length} characters.",
        error_messages={
            "required": "Describe the problem in one line.",
            "max_length": "The short description can have at most %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    description = REPORT_INPUT["description"].form_field(
        label="Description",
        required=True,
        help_text=(
            "What happened, when, and what you expected instead. "
            f"Up to {REPORT_INPUT['description'].max_length} characters."
        ),
        error_messages={
            "required": "Describe what happened.",
            "max_length": "The description can have at most %(limit_value)d characters (it has %(show_value)d).",
        },
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    @property
    def honeypot(self) -> forms.BoundField:
        return self[HONEYPOT_FIELD]

    def honeypot_filled(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.honeypot_filled():
            raise forms.ValidationError(HONEYPOT_FILLED, code="honeypot")
        cleaned.pop(HONEYPOT_FIELD, None)
        return cleaned


class StatusLookupForm(_WebForm):
    reference = forms.CharField(
        label="Reference",
        max_length=40,
        help_text="As on your confirmation, for example IH-7Q4M2X9K0B.",
        error_messages={
            "required": "Enter the reference from your confirmation.",
            "max_length": "A reference looks like IH-7Q4M2X9K0B: IH- and 10 letters or digits.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    email = REPORT_INPUT["email"].form_field(
        label="Email you reported with",
        error_messages={**EMAIL_ERRORS, "required": "Enter the email address you reported with."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_reference(self) -> str:
        reference = normalize_reference(self.cleaned_data["reference"])
        if reference is None:
            raise forms.ValidationError("A reference looks like IH-7Q4M2X9K0B: IH- and 10 letters or digits.")
        return reference
