"""Import/export of reference data (CSV and XLSX) in the admin, all-or-nothing, with history.

Foreign keys are written and read by code (ODS code, list name, SNOMED concept id). A
malformed file is described in words that name the row and the column (``import_problems``),
never with a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from import_export import fields, resources, widgets
from import_export.results import Result

from reference.models import (
    Code,
    CodeList,
    NicipCode,
    Organisation,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)


class ReadableDateWidget(widgets.DateWidget):
    """A date the file gets wrong is quoted back with the form it should take."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> date | None:
        try:
            return super().clean(value, row, **kwargs)
        except ValueError:
            raise ValueError(
                f"“{value}” is not a date: write dates as YYYY-MM-DD, such as 2026-04-30."
            ) from None


class CodeWidget(widgets.ForeignKeyWidget):
    """A foreign key given by its code; an unknown code is a message, not a DoesNotExist."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except ObjectDoesNotExist:
            name = self.model._meta.verbose_name
            raise ValueError(
                f"no {name} has the {self.field.replace('_', ' ')} “{value}”."
            ) from None


class HistoriedResource(resources.ModelResource):
    """Runs full_clean on each row and records who imported it, and from which file, in history.

    The file's header must name exactly this resource's columns (in any order)."""

    WIDGETS_MAP = {**resources.ModelResource.WIDGETS_MAP, "DateField": ReadableDateWidget}

    def columns(self) -> list[str]:
        return [field.column_name for field in self.get_import_fields()]

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        expected = self.columns()
        headers = [str(header).strip() for header in (dataset.headers or [])]
        missing = [column for column in expected if column not in headers]
        unknown = [header for header in headers if header not in expected]
        problems = []
        if missing:
            problems.append(f"has no {_columns(missing)}")
        if unknown:
            problems.append(f"has {_columns(unknown)} this import does not know")
        if problems:
            raise ValueError(
                f"The file's first row {' and '.join(problems)}. "
                f"It must name these columns: {', '.join(expected)}."
            )

    def before_save_instance(self, instance: Any, row: Any, **kwargs: Any) -> None:
        user = kwargs.get("user")
        instance._history_user = user if getattr(user, "is_authenticated", False) else None
        file_name = kwargs.get("file_name") or "an uploaded file"
        instance._change_reason = f"Imported from {file_name}"

    class Meta:
        abstract = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class OrganisationResource(HistoriedResource):
    successor = fields.Field(
        attribute="successor",
        column_name="successor",
        widget=CodeWidget(Organisation, "code"),
    )

    class Meta(HistoriedResource.Meta):
        model = Organisation
        import_id_fields = ["code"]
        fields = (
            "code",
            "name",
            "type",
            "region",
            "in_scope_from",
            "in_scope_to",
            "opened",
            "closed",
            "successor",
        )


class SiteResource(HistoriedResource):
    organisation = fields.Field(
        attribute="organisation",
        column_name="organisation",
        widget=CodeWidget(Organisation, "code"),
    )

    class Meta(HistoriedResource.Meta):
        model = Site
        import_id_fields = ["code"]
        fields = ("code", "name", "organisation", "opened", "closed")


class SubmittingArrangementResource(HistoriedResource):
    submitter = fields.Field(
        attribute="submitter", column_name="submitter", widget=CodeWidget(Organisation, "code")
    )
    organisation = fields.Field(
        attribute="organisation",
        column_name="organisation",
        widget=CodeWidget(Organisation, "code"),
    )

    class Meta(HistoriedResource.Meta):
        model = SubmittingArrangement
        import_id_fields = ["submitter", "organisation", "valid_from"]
        fields = ("submitter", "organisation", "valid_from", "valid_to")


class CodeListResource(HistoriedResource):
    class Meta(HistoriedResource.Meta):
        model = CodeList
        import_id_fields = ["name"]
        fields = ("name", "title", "description")


class CodeResource(HistoriedResource):
    code_list = fields.Field(
        attribute="code_list", column_name="list", widget=CodeWidget(CodeList, "name")
    )

    class Meta(HistoriedResource.Meta):
        model = Code
        import_id_fields = ["code_list", "code", "valid_from"]
        fields = ("code_list", "code", "description", "valid_from", "valid_to")


class SnomedConceptResource(HistoriedResource):
    class Meta(HistoriedResource.Meta):
        model = SnomedConcept
        import_id_fields = ["concept_id"]
        fields = ("concept_id", "description", "modality", "valid_from", "valid_to")


class NicipCodeResource(HistoriedResource):
    snomed = fields.Field(
        attribute="snomed",
        column_name="snomed_code",
        widget=CodeWidget(SnomedConcept, "concept_id"),
    )

    class Meta(HistoriedResource.Meta):
        model = NicipCode
        import_id_fields = ["code"]
        fields = ("code", "description", "modality", "snomed", "valid_from", "valid_to")


def _columns(names: Iterable[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return f"column {quoted[0]}" if len(quoted) == 1 else f"columns {', '.join(quoted)}"


def _where(number: int) -> str:
    # import-export counts rows from the first after the header.
    return f"Row {number} (line {number + 1} of the file)"


def import_problems(result: Result, resource: HistoriedResource) -> list[str]:
    """What is wrong with an imported file, one sentence each, naming the row and column."""
    column_of = {field.attribute: field.column_name for field in resource.get_import_fields()}
    problems = [str(error.error) for error in result.base_errors]
    if problems:  # a file whose header is wrong: its rows say nothing more
        return problems
    for number, errors in result.row_errors():
        problems += [f"{_where(number)}: {error.error}" for error in errors]
    for row in result.invalid_rows:
        for attribute, messages in row.error_dict.items():
            if attribute == NON_FIELD_ERRORS:
                problems += [f"{_where(row.number)}: {message}" for message in messages]
            else:
                column = column_of.get(attribute, attribute)
                problems += [
                    f"{_where(row.number)}, column “{column}”: {message}" for message in messages
                ]
    return problems


def unreadable_file_message(error: Exception) -> str:
    """Why a file could not be read at all, with the line and column of a byte that is not
    UTF-8 (a CSV saved in another encoding)."""
    if isinstance(error, UnicodeDecodeError):
        before = error.object[: error.start]
        line = before.count(b"\n") + 1
        column = before[before.rfind(b"\n") + 1 :].count(b",") + 1
        header = error.object.split(b"\n", 1)[0].decode("utf-8", "replace").split(",")
        named = f" (“{header[column - 1].strip()}”)" if line > 1 and column <= len(header) else ""
        return (
            f"The file is not UTF-8 text: line {line}, column {column}{named} has a character "
            f"that cannot be read (byte 0x{error.object[error.start]:02x}). Save it as "
            "“CSV UTF-8” and upload it again."
        )
    return (
        "The file could not be read as the format chosen. Check that it is a CSV or XLSX file "
        "and that the format matches it."
    )
