from rest_framework import serializers

from dids_portal.lib.serializers import FullCleanModelSerializer
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


class OrganisationSerializer(FullCleanModelSerializer):
    class Meta:
        model = Organisation
        fields = ["code", "name", "type", "region", "in_scope_from", "in_scope_to", "opened",
                  "closed", "successor", "change_reason"]


class SiteSerializer(FullCleanModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name", "organisation", "opened", "closed", "change_reason"]


class SubmittingArrangementSerializer(FullCleanModelSerializer):
    class Meta:
        model = SubmittingArrangement
        fields = ["id", "submitter", "organisation", "valid_from", "valid_to", "change_reason"]


class CodeListSerializer(FullCleanModelSerializer):
    class Meta:
        model = CodeList
        fields = ["name", "title", "description", "change_reason"]


class CodeSerializer(FullCleanModelSerializer):
    list = serializers.SlugRelatedField(
        source="code_list", slug_field="name", queryset=CodeList.objects.all()
    )

    class Meta:
        model = Code
        fields = ["id", "list", "code", "description", "valid_from", "valid_to", "change_reason"]


class SnomedConceptSerializer(FullCleanModelSerializer):
    class Meta:
        model = SnomedConcept
        fields = ["concept_id", "description", "modality", "valid_from", "valid_to",
                  "change_reason"]


class NicipCodeSerializer(FullCleanModelSerializer):
    class Meta:
        model = NicipCode
        fields = ["code", "description", "modality", "snomed", "valid_from", "valid_to",
                  "change_reason"]


class ReferenceReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceRelease
        fields = ["id", "label", "source", "is_sample", "checksum", "summary", "loaded_at"]
