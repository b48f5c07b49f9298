from typing import Any

from rest_framework import filters, permissions, viewsets

from accounts.selectors import is_reference_admin
from reference.api import filters as ref_filters
from reference.api import serializers
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


class ReadOrReferenceAdmin(permissions.BasePermission):
    """Anyone signed in reads reference data; only reference admins write it."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.auth is None and is_reference_admin(request.user)


class ReferenceViewSet(viewsets.ModelViewSet):
    permission_classes = [ReadOrReferenceAdmin]
    filter_backends = [*viewsets.ModelViewSet.filter_backends, filters.SearchFilter]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]  # end-date, never delete


class OrganisationViewSet(ReferenceViewSet):
    queryset = Organisation.objects.all()
    serializer_class = serializers.OrganisationSerializer
    filterset_class = ref_filters.OrganisationFilter
    search_fields = ["code", "name"]


class SiteViewSet(ReferenceViewSet):
    queryset = Site.objects.select_related("organisation")
    serializer_class = serializers.SiteSerializer
    filterset_class = ref_filters.SiteFilter
    search_fields = ["code", "name"]


class SubmittingArrangementViewSet(ReferenceViewSet):
    queryset = SubmittingArrangement.objects.all()
    serializer_class = serializers.SubmittingArrangementSerializer
    filterset_class = ref_filters.SubmittingArrangementFilter


class CodeListViewSet(ReferenceViewSet):
    queryset = CodeList.objects.all()
    serializer_class = serializers.CodeListSerializer
    search_fields = ["name", "title"]


class CodeViewSet(ReferenceViewSet):
    queryset = Code.objects.select_related("code_list")
    serializer_class = serializers.CodeSerializer
    filterset_class = ref_filters.CodeFilter
    search_fields = ["code", "description"]


class SnomedConceptViewSet(ReferenceViewSet):
    queryset = SnomedConcept.objects.all()
    serializer_class = serializers.SnomedConceptSerializer
    filterset_class = ref_filters.SnomedConceptFilter
    search_fields = ["concept_id", "description"]


class NicipCodeViewSet(ReferenceViewSet):
    queryset = NicipCode.objects.all()
    serializer_class = serializers.NicipCodeSerializer
    filterset_class = ref_filters.NicipCodeFilter
    search_fields = ["code", "description"]


class ReferenceReleaseViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ReferenceRelease.objects.all()
    serializer_class = serializers.ReferenceReleaseSerializer
