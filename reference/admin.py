"""The reference admin: history with who and why, import/export, end-dating."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from accounts.selectors import is_national, is_reference_admin
from dids_portal.lib.admin import ReadableHistoryMixin, ReadOnlyAdminMixin
from reference import resources
from reference.models import (
    Code,
    CodeList,
    NicipCode,
    Organisation,
    ReferenceRelease,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)


class ChangeReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        max_length=100,
        required=True,
        help_text="Why you are making this change. Kept in the object's history.",
    )


class ReferenceAdmin(ReadableHistoryMixin, ImportExportModelAdmin, SimpleHistoryAdmin):
    """History, a required change reason, CSV/XLSX import with a dry-run preview, all-or-nothing."""

    form = ChangeReasonForm
    formats = [CSV, XLSX]
    import_template_name = "admin/reference/import.html"
    export_template_name = "admin/reference/export.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = [f for f in super().get_fields(request, obj) if f != "change_reason"]
        return [*fields, "change_reason"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """The primary key is fixed once a row exists: saving a changed key would add a second
        row beside it (Django saves by primary key), not rename it."""
        fields = tuple(super().get_readonly_fields(request, obj))
        key = self.model._meta.pk.name
        if obj is None or key in fields or self.model._meta.pk.auto_created:
            return fields
        return (*fields, key)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = form.cleaned_data.get("change_reason")
        super().save_model(request, obj, form, change)

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """The import page lists what is wrong with a file in words, row and column named."""
        response = super().import_action(request, **kwargs)
        if isinstance(response, TemplateResponse) and response.context_data:
            result = response.context_data.get("result")
            if result is not None:
                resource = self.get_import_resource_classes(request)[0]()
                response.context_data["import_problems"] = resources.import_problems(
                    result, resource
                )
        return response

    def add_data_read_fail_error_to_form(self, form: Any, e: Exception) -> None:
        form.add_error("import_file", resources.unreadable_file_message(e))

    def get_import_data_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        data_kwargs = super().get_import_data_kwargs(**kwargs)
        data_kwargs["rollback_on_validation_errors"] = True
        return data_kwargs

    # Reference admins write; national analysts and other staff may look.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(
            user.is_active and user.is_staff and (is_reference_admin(user) or is_national(user))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active and request.user.is_staff and is_reference_admin(request.user)
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Reference rows are end-dated, not deleted: validations of the past still cite them.
        return False


@admin.register(Organisation)
class OrganisationAdmin(ReferenceAdmin):
    resource_classes = [resources.OrganisationResource]
    list_display = [
        "code",
        "name",
        "type",
        "region",
        "in_scope_from",
        "in_scope_to",
        "closed",
        "successor",
    ]
    list_filter = ["type", "region"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["successor"]


@admin.register(Site)
class SiteAdmin(ReferenceAdmin):
    resource_classes = [resources.SiteResource]
    list_display = ["code", "name", "organisation", "opened", "closed"]
    list_filter = ["organisation__type"]
    search_fields = ["code", "name", "organisation__code", "organisation__name"]
    autocomplete_fields = ["organisation"]
    list_select_related = ["organisation"]


@admin.register(SubmittingArrangement)
class SubmittingArrangementAdmin(ReferenceAdmin):
    resource_classes = [resources.SubmittingArrangementResource]
    list_display = ["submitter", "organisation", "valid_from", "valid_to"]
    autocomplete_fields = ["submitter", "organisation"]


@admin.register(CodeList)
class CodeListAdmin(ReferenceAdmin):
    resource_classes = [resources.CodeListResource]
    list_display = ["name", "title"]
    search_fields = ["name", "title"]


@admin.register(Code)
class CodeAdmin(ReferenceAdmin):
    resource_classes = [resources.CodeResource]
    list_display = ["code_list", "code", "description", "valid_from", "valid_to"]
    list_filter = ["code_list"]
    search_fields = ["code", "description", "code_list__name", "code_list__title"]
    list_select_related = ["code_list"]


@admin.register(SnomedConcept)
class SnomedConceptAdmin(ReferenceAdmin):
    resource_classes = [resources.SnomedConceptResource]
    list_display = ["concept_id", "description", "modality", "valid_from", "valid_to"]
    list_filter = ["modality"]
    search_fields = ["concept_id", "description"]


@admin.register(NicipCode)
class NicipCodeAdmin(ReferenceAdmin):
    resource_classes = [resources.NicipCodeResource]
    list_display = ["code", "description", "modality", "snomed", "valid_from", "valid_to"]
    list_filter = ["modality"]
    search_fields = ["code", "description", "snomed__concept_id"]
    autocomplete_fields = ["snomed"]


@admin.register(ReferenceRelease)
class ReferenceReleaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["label", "is_sample", "source", "loaded_at", "loaded_by", "checksum"]
    readonly_fields = [
        "label",
        "source",
        "is_sample",
        "checksum",
        "summary",
        "loaded_at",
        "loaded_by",
    ]

    # Releases are recorded by load_reference only; those who may look at reference data see them.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return ReferenceAdmin.has_view_permission(self, request, obj)  # type: ignore[arg-type]
