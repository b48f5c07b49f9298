"""Import/export of reference data (CSV and XLSX) in the admin, all-or-nothing, with history.

Foreign keys are written and read by code (ODS code, list name, SNOMED concept id).
"""

from __future__ import annotations

from typing import Any

from import_export import fields, resources, widgets

from reference.models import (
    Code,
    CodeList,
    NicipCode,
    Organisation,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)


class HistoriedResource(resources.ModelResource):
    """Runs full_clean on each row and records who imported it, and from which file, in history."""

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
        attribute="successor", column_name="successor",
        widget=widgets.ForeignKeyWidget(Organisation, "code"),
    )

    class Meta(HistoriedResource.Meta):
        model = Organisation
        import_id_fields = ["code"]
        fields = ("code", "name", "type", "region", "in_scope_from", "in_scope_to", "opened",
                  "closed", "successor")


class SiteResource(HistoriedResource):
    organisation = fields.Field(
        attribute="organisation", column_name="organisation",
        widget=widgets.ForeignKeyWidget(Organisation, "code"),
    )

    class Meta(HistoriedResource.Meta):
        model = Site
        import_id_fields = ["code"]
        fields = ("code", "name", "organisation", "opened", "closed")


class SubmittingArrangementResource(HistoriedResource):
    submitter = fields.Field(attribute="submitter", column_name="submitter",
                             widget=widgets.ForeignKeyWidget(Organisation, "code"))
    organisation = fields.Field(attribute="organisation", column_name="organisation",
                                widget=widgets.ForeignKeyWidget(Organisation, "code"))

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
    code_list = fields.Field(attribute="code_list", column_name="list",
                             widget=widgets.ForeignKeyWidget(CodeList, "name"))

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
    snomed = fields.Field(attribute="snomed", column_name="snomed_code",
                          widget=widgets.ForeignKeyWidget(SnomedConcept, "concept_id"))

    class Meta(HistoriedResource.Meta):
        model = NicipCode
        import_id_fields = ["code"]
        fields = ("code", "description", "modality", "snomed", "valid_from", "valid_to")
