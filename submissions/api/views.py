from __future__ import annotations

import json
from base64 import b64encode
from typing import Any

import django_filters
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import can_submit_for, is_national, provider_organisation_codes
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pagination import CursorPagination
from submissions.api.serializers import (
    STATUS_COLUMNS,
    CheckSerializer,
    FindingSerializer,
    ReceiptSerializer,
    SubmissionSerializer,
    SubmissionUploadSerializer,
    submission_status_row,
)
from submissions.api.short_path import short_path_response, short_path_token
from submissions.api.status_json import status_json_rows
from submissions.checking import file_check
from submissions.choices import Channel, SubmissionStatus
from submissions.downloads import submission_csv_download
from submissions.models import Submission
from submissions.selectors import (
    finding_list,
    reference_snapshot_file,
    submission_get_for,
    submission_list_for,
    submission_status_rows,
    visible_organisation_codes,
)
from submissions.services import submission_create, submission_reprocess


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def acting_organisation(request: Request, requested: str | None) -> str:
    """The organisation a request acts for: the token's, the one asked for, or the only one."""
    token = _token(request)
    if token is not None:
        if requested and requested.strip().upper() != token.organisation_id:
            raise DomainError("This token is for another organisation.", code="permission_denied",
                              status_code=403)
        return token.organisation_id
    if requested:
        return requested.strip().upper()
    codes = provider_organisation_codes(request.user)
    if len(codes) == 1:
        return next(iter(codes))
    raise DomainError("Say which organisation: the 'organisation' field is required.",
                      code="organisation_required")


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50


class InFileOrder(CursorPagination):
    ordering = "id"
    page_size = 200
    max_page_size = 5000
    page_size_query_param = "page_size"


class SubmissionFilter(django_filters.FilterSet):
    activity_month = django_filters.CharFilter(method="filter_month", label="YYYY-MM")
    organisation = django_filters.CharFilter(field_name="organisation_id")
    status = django_filters.ChoiceFilter(choices=SubmissionStatus.choices)
    is_live = django_filters.BooleanFilter()

    class Meta:
        model = Submission
        fields = ["organisation", "status", "is_live"]

    def filter_month(self, queryset: Any, name: str, value: str) -> Any:
        from submissions.services import month_start

        return queryset.filter(activity_month=month_start(value))


# The list's query parameters that narrow it: without any, the list is what a RIS polls.
FILTER_PARAMETERS = frozenset(SubmissionFilter.base_filters)
MAX_ID = 2**63 - 1  # a bigint's largest: a longer id is no version (and no database error)


def _version_id(pk: Any) -> int | None:
    text = str(pk)
    return int(text) if text.isascii() and text.isdigit() and int(text) <= MAX_ID else None


class SubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Submissions of the organisations you may see (national analysts: all)."""

    serializer_class = SubmissionSerializer
    pagination_class = NewestFirst
    filterset_class = SubmissionFilter
    parser_classes = [MultiPartParser, FormParser]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self.poll(request, kwargs) or super().dispatch(request, *args, **kwargs)

    def poll(self, request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse | None:
        """A RIS's status poll answered without DRF's dispatch: a GET of the list's first page
        (no query string) or of a version, with a token verified in the last seconds and an
        Accept DRF would answer with JSON, on PostgreSQL. One statement writes the JSON
        (``status_json``); the bytes are what the DRF path below writes (a test holds them
        equal). Anything else, a version not found or not visible included, returns None and
        takes DRF's path, with its authentication, negotiation, filters, paginator and 404."""
        action = self.action_map.get("get") if request.method == "GET" else None
        if action not in ("list", "retrieve") or request.META.get("QUERY_STRING"):
            return None
        token = short_path_token(request)
        if token is None:
            return None
        codes = visible_organisation_codes(user=token.user, token=token)
        if codes is None or len(codes) != 1:  # a token sees its one organisation, or none
            return None
        code = next(iter(codes))
        if action == "retrieve":
            pk = _version_id(kwargs.get("pk"))
            rows = [] if pk is None else status_json_rows(code=code, pk=pk)
            if not rows or not rows[0][2]:
                return None
            body = rows[0][1]
        else:
            size = NewestFirst.page_size
            rows = status_json_rows(code=code, limit=size + 1)
            if not all(exact for _, _, exact in rows):
                return None
            next_link = None
            if len(rows) > size:  # DRF's CursorPagination: the page's last id is the position
                cursor = b64encode(f"p={rows[size - 1][0]}".encode("ascii")).decode("ascii")
                next_link = json.dumps(replace_query_param(
                    request.build_absolute_uri(), NewestFirst.cursor_query_param, cursor))
            body = (f'{{"next":{next_link or "null"},"previous":null,"results":['
                    + ",".join(row[1] for row in rows[:size]) + "]}")
        body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return short_path_response(self, request, token, body)

    def get_queryset(self) -> Any:
        return submission_list_for(user=self.request.user, token=_token(self.request))

    def get_object(self) -> Submission:
        return submission_get_for(user=self.request.user, pk=self.kwargs["pk"],
                                  token=_token(self.request))

    # The status endpoints a RIS polls: one query of the serializer's columns, no model objects;
    # unfiltered (what a RIS polls), one statement the ORM compiled once (submission_status_rows).
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if FILTER_PARAMETERS.isdisjoint(request.query_params):
            rows = self.paginate_queryset(submission_status_rows(
                user=request.user, token=_token(request), columns=STATUS_COLUMNS))
        else:
            rows = self.paginate_queryset(
                self.filter_queryset(self.get_queryset()).values(*STATUS_COLUMNS))
        tz = timezone.get_current_timezone()
        return self.get_paginated_response([submission_status_row(r, tz) for r in rows])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pk = _version_id(self.kwargs["pk"])
        rows = (submission_status_rows(user=request.user, token=_token(request),
                                       columns=STATUS_COLUMNS).filter(pk=pk)[:1]
                if pk is not None else [])
        if not rows:
            raise Http404("No such submission.")  # another organisation's too
        return Response(submission_status_row(rows[0], timezone.get_current_timezone()))

    @extend_schema(
        request={"multipart/form-data": SubmissionUploadSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={201: ReceiptSerializer, 200: ReceiptSerializer},
        summary="Upload a DIDS file as a new version",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = SubmissionUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        submission, created = submission_create(
            actor=request.user,
            organisation_code=acting_organisation(request, data.validated_data.get("organisation")),
            activity_month=data.validated_data["activity_month"],
            upload=upload, original_name=upload.name,
            idempotency_key=(request.headers.get("Idempotency-Key")
                             or data.validated_data.get("idempotency_key") or ""),
            token=_token(request), channel=Channel.API, request=request,
        )
        return Response(ReceiptSerializer(submission).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses=FindingSerializer(many=True), summary="Findings of a version")
    @action(detail=True, methods=["get"], pagination_class=InFileOrder)
    def findings(self, request: Request, pk: str | None = None) -> Response:
        submission = self.get_object()
        page = self.paginate_queryset(finding_list(submission=submission).order_by("id"))
        return self.get_paginated_response(FindingSerializer(page, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="Findings as CSV (formula-safe)")
    @action(detail=True, methods=["get"], url_path="findings.csv")
    def findings_csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        return submission_csv_download(request=request, submission=self.get_object(),
                                       kind="findings", token=_token(request))

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="The submitted file with a findings column (formula-safe)")
    @action(detail=True, methods=["get"], url_path="annotated.csv")
    def annotated_csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        return submission_csv_download(request=request, submission=self.get_object(),
                                       kind="annotated", token=_token(request))

    @extend_schema(request=None, responses=SubmissionSerializer,
                   summary="Process a failed version again from its stored file")
    @action(detail=True, methods=["post"])
    def reprocess(self, request: Request, pk: str | None = None) -> Response:
        submission = self.get_object()
        if not can_submit_for(request.user, submission.organisation_id, token=_token(request)):
            raise DomainError("Only the organisation's submitters can reprocess a version.",
                              code="permission_denied", status_code=403)
        submission = submission_reprocess(actor=request.user, submission=submission,
                                          request=request)
        return Response(SubmissionSerializer(submission).data)


class CheckView(APIView):
    """Check a file with the same engine and reference data as a submission, storing nothing."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": CheckSerializer},
                   responses={200: OpenApiTypes.OBJECT}, summary="Check a DIDS file (check only)")
    def post(self, request: Request) -> Response:
        data = CheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = acting_organisation(request, data.validated_data.get("organisation"))
        token = _token(request)
        national = token is None and is_national(request.user)
        if not national and organisation not in provider_organisation_codes(request.user,
                                                                            token=token):
            raise DomainError(f"You cannot check files for {organisation}.",
                              code="permission_denied", status_code=403)
        upload = data.validated_data["file"]
        report = file_check(source=upload.file, organisation_code=organisation,
                            activity_month=data.validated_data["activity_month"],
                            as_of=data.validated_data.get("as_of"),
                            dataset_version=data.validated_data.get("dataset_version"),
                            max_findings=data.validated_data["max_findings"])
        return Response(report.to_dict())


class ReferenceSnapshotView(APIView):
    """The reference data the engine checks against, as the file the offline dids-check reads."""

    @extend_schema(
        summary="Download the reference snapshot for the offline checker",
        description=("The code lists, NICIP and SNOMED codes, organisations, sites and submitting "
                     "arrangements the portal checks files against, with the reference release "
                     "and rule-set version, as one JSON file (format_version 1) for "
                     "`dids-check --reference FILE`. Any signed-in user or API token."),
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        data, filename = reference_snapshot_file()
        response = HttpResponse(data, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
