"""Forms of the submissions pages."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms

from dids_portal.lib.pages import NhsFormMixin
from submissions.templatetags.dids_items import item_name


class UploadForm(NhsFormMixin, forms.Form):
    """A DIDS file and its activity month, to submit or to check only."""

    activity_month = forms.ChoiceField(
        label="Activity month",
        help_text="The month the examinations in the file took place.",
        error_messages={"required": "Select the activity month",
                        "invalid_choice": "Select an activity month from the list"},
    )
    file = forms.FileField(
        label="DIDS file",
        help_text="A CSV file in the DIDS layout (version 1.0 or 2.0), or a zip holding one.",
        error_messages={"required": "Select a DIDS file", "empty": "The selected file is empty"},
    )

    def __init__(self, *args: Any, months: list[date], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["activity_month"]).choices = [("", "Select a month")] + [
            (f"{m:%Y-%m}", f"{m:%B %Y}") for m in months
        ]

    def clean_file(self) -> Any:
        # Two files under one name: Django keeps the last one; refuse instead of guessing.
        if self.files and len(self.files.getlist(self.add_prefix("file"))) > 1:  # type: ignore[attr-defined]
            raise forms.ValidationError("Select one DIDS file", code="more_than_one")
        return self.cleaned_data["file"]


class FindingFilterForm(NhsFormMixin, forms.Form):
    """The findings list's filters (GET): a rule, an outcome and a data item of this version."""

    rule = forms.ChoiceField(label="Rule", required=False,
                             error_messages={"invalid_choice": "Select a rule from the list"})
    severity = forms.ChoiceField(
        label="Outcome", required=False,
        choices=[("", "Any outcome"), ("file", "File rejected"), ("reject", "Record rejected"),
                 ("warn", "Warning: record kept")],
        error_messages={"invalid_choice": "Select an outcome from the list"})
    item = forms.ChoiceField(label="Data item", required=False,
                             error_messages={"invalid_choice": "Select a data item from the list"})

    def __init__(self, *args: Any, rules: list[str], items: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["rule"]).choices = [("", "Any rule")] + [
            (r, r) for r in rules]
        cast(forms.ChoiceField, self.fields["item"]).choices = [("", "Any data item")] + [
            (i, item_name(i)) for i in items]

    def filters(self) -> dict[str, str]:
        """The valid filters given (a value not in its list is left out, and shown as an error)."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) or "" for name in self.fields}


# The national month ---------------------------------------------------------------------------

UK_TIME_HINT = "UK time (Europe/London), for example 31/01/2027 23:59:59."


class UkDateTimeField(forms.DateTimeField):
    """A date and time typed in UK local time, shown with the browser's date-time picker."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"},
                                 format="%Y-%m-%dT%H:%M:%S")
    input_formats = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"]

    def to_python(self, value: Any) -> Any:
        from django.utils import timezone

        from submissions.cycle.timetable import LONDON

        result = super().to_python(value)
        if result is not None:
            result = timezone.make_aware(timezone.make_naive(result), LONDON) \
                if timezone.is_aware(result) else timezone.make_aware(result, LONDON)
        return result


class DeadlineForm(NhsFormMixin, forms.Form):
    """A month's two deadlines and why they change."""

    provisional_deadline = UkDateTimeField(
        label="Provisional deadline", help_text=UK_TIME_HINT,
        error_messages={"required": "Enter the provisional deadline",
                        "invalid": "Enter the provisional deadline as a date and time"})
    final_deadline = UkDateTimeField(
        label="Final deadline (window close)", help_text=UK_TIME_HINT,
        error_messages={"required": "Enter the final deadline",
                        "invalid": "Enter the final deadline as a date and time"})
    change_reason = forms.CharField(
        label="Reason for the change", max_length=100,
        help_text="Kept in the timetable's history and the audit trail.",
        error_messages={"required": "Enter the reason for the change"})

    def __init__(self, *args: Any, fixed: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in fixed:
            field = self.fields[f"{kind}_deadline"]
            field.disabled = True
            field.help_text = "Its cut-off has run, so this deadline can no longer change."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provisional, final = data.get("provisional_deadline"), data.get("final_deadline")
        if provisional and final and final < provisional:
            self.add_error("final_deadline",
                           "The final deadline must be the same as or after the provisional one")
        return data


class ReopeningForm(NhsFormMixin, forms.Form):
    """Let one organisation submit for a month again, until a date and time."""

    organisation = forms.ChoiceField(
        label="Organisation", error_messages={"required": "Select the organisation",
                                              "invalid_choice": "Select an organisation from the list"})
    month = forms.ChoiceField(
        label="Activity month", error_messages={"required": "Select the activity month",
                                                "invalid_choice": "Select a month from the list"})
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example the incident or request that needs a late file.",
        error_messages={"required": "Enter the reason for the reopening"})
    expires_at = UkDateTimeField(
        label="Open until", help_text=UK_TIME_HINT,
        error_messages={"required": "Enter when the reopening ends",
                        "invalid": "Enter when the reopening ends as a date and time"})

    def __init__(self, *args: Any, organisations: list[tuple[str, str]], months: list[date],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["organisation"]).choices = [
            ("", "Select an organisation"), *organisations]
        cast(forms.ChoiceField, self.fields["month"]).choices = [("", "Select a month")] + [
            (f"{m:%Y-%m}", f"{m:%B %Y}") for m in months]


class EndReopeningForm(NhsFormMixin, forms.Form):
    reason = forms.CharField(label="Why it ends early", max_length=200,
                             error_messages={"required": "Enter why the reopening ends early"})


class ExtractForm(NhsFormMixin, forms.Form):
    """Which frozen product to extract, and in which format."""

    cutoff = forms.ChoiceField(
        label="Cut-off", error_messages={"required": "Select the cut-off to extract",
                                         "invalid_choice": "Select a cut-off from the list"})
    format = forms.ChoiceField(
        label="Format", widget=forms.RadioSelect,
        error_messages={"required": "Select the format of the extract"})

    def __init__(self, *args: Any, cutoffs: list[tuple[str, str]], **kwargs: Any) -> None:
        from submissions.choices import ExtractFormat

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["cutoff"]).choices = [("", "Select a cut-off"),
                                                                  *cutoffs]
        cast(forms.ChoiceField, self.fields["format"]).choices = ExtractFormat.choices
        self.fields["format"].initial = ExtractFormat.CSV
