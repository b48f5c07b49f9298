"""Forms of the submissions pages."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms

from dids_portal.lib.pages import NhsFormMixin


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
