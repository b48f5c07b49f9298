"""Reference data: organisations, sites, code lists and imaging codes, all effective-dated.

Every model carries its full history (django-simple-history), with who and why.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from reference.choices import PROVIDER_TYPES, Modality, OrganisationType


class EffectiveQuerySet(models.QuerySet):
    """Rows valid on a date: from <= date <= to, open-ended where a bound is empty."""

    start_field = "valid_from"
    end_field = "valid_to"

    def valid_on(self, day: date) -> EffectiveQuerySet:
        return self.filter(
            Q(**{f"{self.start_field}__isnull": True}) | Q(**{f"{self.start_field}__lte": day}),
            Q(**{f"{self.end_field}__isnull": True}) | Q(**{f"{self.end_field}__gte": day}),
        )


class OpenQuerySet(EffectiveQuerySet):
    start_field = "opened"
    end_field = "closed"


def _dates_in_order(start_field: str, end_field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        name=name,
        condition=Q(**{f"{start_field}__isnull": True})
        | Q(**{f"{end_field}__isnull": True})
        | Q(**{f"{end_field}__gte": F(start_field)}),
        violation_error_message=f"{end_field.replace('_', ' ')} must not be before "
        f"{start_field.replace('_', ' ')}.",
    )


class ReferenceRelease(models.Model):
    """One load of reference data: later validations say which release they used."""

    label = models.CharField(max_length=200)
    source = models.CharField(max_length=500)
    is_sample = models.BooleanField(default=False)
    checksum = models.CharField(max_length=64, help_text="SHA-256 over the files loaded.")
    summary = models.JSONField(default=dict, help_text="Rows created, updated and unchanged per file.")
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-loaded_at", "-id"]
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"{self.label} ({self.loaded_at:%Y-%m-%d %H:%M})" if self.loaded_at else self.label


class Organisation(models.Model):
    code = models.CharField("ODS code", max_length=12, primary_key=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=OrganisationType.choices)
    region = models.CharField(max_length=100, blank=True)
    in_scope_from = models.DateField(
        null=True, blank=True, help_text="First activity date this provider must submit for."
    )
    in_scope_to = models.DateField(null=True, blank=True)
    opened = models.DateField(null=True, blank=True)
    closed = models.DateField(null=True, blank=True)
    successor = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="predecessors",
        help_text="The organisation this one merged into.",
    )

    history = HistoricalRecords()
    objects = OpenQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            _dates_in_order("opened", "closed", "organisation_closed_after_opened"),
            _dates_in_order("in_scope_from", "in_scope_to", "organisation_scope_in_order"),
            models.CheckConstraint(
                name="organisation_code_upper", condition=Q(code__regex=r"^[A-Z0-9]+$"),
                violation_error_message="ODS codes are upper-case letters and digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_provider(self) -> bool:
        return self.type in PROVIDER_TYPES

    def clean(self) -> None:
        if self.successor_id and self.successor_id == self.code:
            raise ValidationError({"successor": "An organisation cannot succeed itself."})
        if self.in_scope_from and self.type not in PROVIDER_TYPES:
            raise ValidationError(
                {"in_scope_from": "Only provider organisations are in scope of the collection."}
            )


class Site(models.Model):
    code = models.CharField("site code", max_length=12, primary_key=True)
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    opened = models.DateField(null=True, blank=True)
    closed = models.DateField(null=True, blank=True)

    history = HistoricalRecords()
    objects = OpenQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            _dates_in_order("opened", "closed", "site_closed_after_opened"),
            models.CheckConstraint(
                name="site_code_length", condition=Q(code__regex=r"^[A-Z0-9]{5,12}$"),
                violation_error_message="Site codes are 5 to 12 upper-case letters and digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SubmittingArrangement(models.Model):
    """A bureau arrangement: ``submitter`` may send records for ``organisation``'s sites."""

    submitter = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="submits_for")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="submitted_by"
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["submitter", "organisation"]
        constraints = [
            _dates_in_order("valid_from", "valid_to", "arrangement_dates_in_order"),
            models.UniqueConstraint(
                fields=["submitter", "organisation", "valid_from"], name="arrangement_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                name="arrangement_not_self", condition=~Q(submitter=F("organisation")),
                violation_error_message="An organisation always submits for itself.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.submitter_id} submits for {self.organisation_id}"


class CodeList(models.Model):
    """An NHS Data Dictionary list (or a portal list) the validation rules check against."""

    name = models.SlugField(max_length=64, primary_key=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title


class Code(models.Model):
    code_list = models.ForeignKey(CodeList, on_delete=models.PROTECT, related_name="codes")
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=300)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["code_list", "code", "valid_from"]
        constraints = [
            _dates_in_order("valid_from", "valid_to", "code_dates_in_order"),
            models.UniqueConstraint(
                fields=["code_list", "code", "valid_from"], name="code_unique_per_start",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_list_id}:{self.code} {self.description}"


class SnomedConcept(models.Model):
    """A concept of the UK diagnostic imaging procedure reference set."""

    concept_id = models.CharField("SNOMED CT concept id", max_length=18, primary_key=True)
    description = models.CharField(max_length=300)
    modality = models.CharField(max_length=8, choices=Modality.choices)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["concept_id"]
        verbose_name = "SNOMED CT imaging concept"
        constraints = [
            _dates_in_order("valid_from", "valid_to", "snomed_dates_in_order"),
            models.CheckConstraint(
                name="snomed_concept_id_digits", condition=Q(concept_id__regex=r"^[0-9]{6,18}$"),
                violation_error_message="SNOMED CT ids are 6 to 18 digits.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.concept_id} {self.description}"


class NicipCode(models.Model):
    """A NICIP imaging code, its modality and the SNOMED CT concept it maps to."""

    code = models.CharField("NICIP code", max_length=6, primary_key=True)
    description = models.CharField(max_length=300)
    modality = models.CharField(max_length=8, choices=Modality.choices)
    snomed = models.ForeignKey(
        SnomedConcept, on_delete=models.PROTECT, null=True, blank=True, related_name="nicip_codes",
        verbose_name="SNOMED CT concept",
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()
    objects = EffectiveQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "NICIP code"
        constraints = [_dates_in_order("valid_from", "valid_to", "nicip_dates_in_order")]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"
