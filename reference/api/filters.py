from typing import Any

import django_filters

from reference.choices import Modality, OrganisationType
from reference.models import (
    Code,
    NicipCode,
    Organisation,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)


class ValidOnFilterSet(django_filters.FilterSet):
    valid_on = django_filters.DateFilter(
        method="filter_valid_on", label="Valid (open) on this date, YYYY-MM-DD"
    )

    def filter_valid_on(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset.valid_on(value)


class OrganisationFilter(ValidOnFilterSet):
    type = django_filters.MultipleChoiceFilter(choices=OrganisationType.choices)
    region = django_filters.CharFilter()

    class Meta:
        model = Organisation
        fields = ["type", "region"]


class SiteFilter(ValidOnFilterSet):
    type = django_filters.MultipleChoiceFilter(
        field_name="organisation__type", choices=OrganisationType.choices,
        label="Type of the owning organisation",
    )

    class Meta:
        model = Site
        fields = ["organisation"]


class SubmittingArrangementFilter(ValidOnFilterSet):
    class Meta:
        model = SubmittingArrangement
        fields = ["submitter", "organisation"]


class CodeFilter(ValidOnFilterSet):
    list = django_filters.CharFilter(field_name="code_list__name")

    class Meta:
        model = Code
        fields = ["list"]


class SnomedConceptFilter(ValidOnFilterSet):
    modality = django_filters.ChoiceFilter(choices=Modality.choices)
    type = django_filters.ChoiceFilter(field_name="modality", choices=Modality.choices,
                                       label="Modality group (alias of modality)")

    class Meta:
        model = SnomedConcept
        fields = ["modality"]


class NicipCodeFilter(SnomedConceptFilter):
    class Meta:
        model = NicipCode
        fields = ["modality", "snomed"]
