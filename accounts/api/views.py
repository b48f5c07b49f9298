"""The audit trail over the API: search and CSV export. National analysts see every event;
providers (and their organisations' tokens) only their own organisations'."""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from accounts.api.serializers import AuditEventSerializer
from accounts.models import ApiToken, AuditEvent
from accounts.selectors import audit_event_list_for
from accounts.services import audit_export_record
from dids_portal.lib.csvsafe import csv_attachment, csv_lines
from dids_portal.lib.filters import IsoDateTimeFilter
from dids_portal.lib.pagination import CursorPagination

EXPORT_COLUMNS = ["seq", "occurred_at", "actor_email", "organisation_code", "ip_address",
                  "action", "target", "before", "after", "hash"]


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    organisation = django_filters.CharFilter(field_name="organisation_code")
    actor = django_filters.CharFilter(field_name="actor_email", lookup_expr="iexact")
    target = django_filters.CharFilter()
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "organisation", "actor", "target"]


class NewestFirst(CursorPagination):
    ordering = "-seq"
    page_size = 100


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Search the audit trail (newest first)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        return audit_event_list_for(user=self.request.user, token=_token(self.request))

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="The audit events matching the filters as CSV (formula-safe)")
    @action(detail=False, methods=["get"], url_path="export.csv", pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset()).order_by("seq")
        audit_export_record(actor=request.user, request=request,
                            filters={k: v for k, v in request.query_params.items()})

        def rows() -> Any:
            yield EXPORT_COLUMNS
            for record in queryset.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
                yield [v.isoformat() if hasattr(v, "isoformat") else
                       json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v
                       for v in record]

        return csv_attachment(csv_lines(rows()), "dids-audit.csv")
