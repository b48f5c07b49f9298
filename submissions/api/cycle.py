"""API of the monthly cycle: timetable, reopenings, cut-offs, statistics, compliance,
extracts (national users), and providers' months and version diffs (their own only)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from accounts.selectors import is_national
from dids_portal.lib.csvsafe import csv_attachment, csv_lines
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pagination import CursorPagination
from submissions.api.cycle_serializers import (
    CutOffRunSerializer,
    CutOffSerializer,
    ExtractRequestSerializer,
    ExtractSerializer,
    PeriodSerializer,
    PeriodUpdateSerializer,
    ReopeningSerializer,
    ReopenSerializer,
)
from submissions.api.short_path import short_path_response, short_path_token
from submissions.choices import ExtractState
from submissions.cycle import cutoff_selectors as cutoffs
from submissions.cycle import selectors as cycle
from submissions.cycle.extract_services import extract_create, extract_download_record
from submissions.cycle.provider_months import provider_month_statuses
from submissions.cycle.provider_months_json import provider_months_json
from submissions.cycle.services import (
    month_range_default,
    period_cut_off,
    period_ensure,
    period_reopen,
    period_update,
)
from submissions.cycle.timetable import add_months
from submissions.models import Extract, PeriodReopening, ReportingPeriod
from submissions.selectors import submission_get_for, visible_organisation_codes


def _token(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def _national_only(request: Request) -> None:
    if _token(request) is not None or not is_national(request.user):
        raise DomainError("Only national users can do this.", code="permission_denied",
                          status_code=403)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field (dataclasses.asdict deep-copies everything first, for nothing).
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv(rows: list[list[Any]], filename: str) -> StreamingHttpResponse:
    return csv_attachment(csv_lines(rows), filename)


# Timetable and reopenings --------------------------------------------------------------------

class PeriodListView(APIView):
    @extend_schema(responses=PeriodSerializer(many=True), summary="The timetable",
                   parameters=[OpenApiParameter("year", int, required=False)])
    def get(self, request: Request) -> Response:
        periods = ReportingPeriod.objects.all()
        year = request.query_params.get("year", "")
        if year.isdigit() and 1 <= int(year) <= 9999:  # a date's years (year=0 was a 500)
            periods = periods.filter(activity_month__year=int(year))
        return Response(PeriodSerializer(periods, many=True).data)


class PeriodDetailView(APIView):
    @extend_schema(responses=PeriodSerializer, summary="One month's deadlines (defaults if unset)")
    def get(self, request: Request, month: str) -> Response:
        period = ReportingPeriod.objects.filter(activity_month=cycle.month_of(month)).first()
        if period is None:
            from submissions.cycle.timetable import default_deadlines

            deadlines = default_deadlines(cycle.month_of(month))
            period = ReportingPeriod(activity_month=cycle.month_of(month),
                                     provisional_deadline=deadlines.provisional,
                                     final_deadline=deadlines.final)
        return Response(PeriodSerializer(period).data)

    @extend_schema(request=PeriodUpdateSerializer, responses=PeriodSerializer,
                   summary="Change a month's deadlines (national users; kept in its history)")
    def patch(self, request: Request, month: str) -> Response:
        _national_only(request)
        data = PeriodUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        reason = values.pop("change_reason")
        period = period_update(actor=request.user, month=month, reason=reason, request=request,
                               **values)
        return Response(PeriodSerializer(period).data)


class ReopeningView(APIView):
    @extend_schema(responses=ReopeningSerializer(many=True),
                   summary="Reopenings of a month (national users)")
    def get(self, request: Request, month: str) -> Response:
        _national_only(request)
        reopenings = PeriodReopening.objects.filter(
            period__activity_month=cycle.month_of(month)).select_related("period", "granted_by")
        return Response(ReopeningSerializer(reopenings, many=True).data)

    @extend_schema(request=ReopenSerializer, responses={201: ReopeningSerializer},
                   summary="Reopen a locked month for one organisation (national users; audited)")
    def post(self, request: Request, month: str) -> Response:
        _national_only(request)
        data = ReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reopening = period_reopen(actor=request.user, month=month,
                                  organisation_code=data.validated_data["organisation"],
                                  reason=data.validated_data["reason"],
                                  expires_at=data.validated_data["expires_at"],
                                  request=request)
        return Response(ReopeningSerializer(reopening).data, status=status.HTTP_201_CREATED)


# Cut-offs, statistics, extracts --------------------------------------------------------------

class NewestCutOffsFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class CutOffListView(GenericAPIView):
    serializer_class = CutOffSerializer
    pagination_class = NewestCutOffsFirst

    def get_queryset(self) -> Any:
        return cutoffs.cutoff_queryset()

    @extend_schema(responses=CutOffSerializer(many=True),
                   summary="Frozen products, newest first, a page at a time (national users)")
    def get(self, request: Request) -> Response:
        _national_only(request)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CutOffSerializer(page, many=True).data)

    @extend_schema(request=CutOffRunSerializer, responses={201: CutOffSerializer, 200: CutOffSerializer},
                   summary="Run a cut-off by hand (national users; idempotent)")
    def post(self, request: Request) -> Response:
        _national_only(request)
        data = CutOffRunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period_ensure(month=data.validated_data["month"], actor=request.user)
        cutoff, created = period_cut_off(actor=request.user, month=data.validated_data["month"],
                                         kind=data.validated_data["kind"],
                                         run_by_label=f"API ({request.user.email})",
                                         ignore_pending=data.validated_data["ignore_pending"],
                                         request=request)
        return Response(CutOffSerializer(cutoff).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CutOffDetailView(APIView):
    @extend_schema(responses=CutOffSerializer, summary="A frozen product with its manifest")
    def get(self, request: Request, month: str, kind: str) -> Response:
        _national_only(request)
        return Response(CutOffSerializer(cutoffs.cutoff_get(month=month, kind=kind)).data)


def _statistics(request: Request, month: str, kind: str) -> dict[str, Any]:
    national = _token(request) is None and is_national(request.user)
    published = request.query_params.get("published") in {"1", "true", "yes"} or not national
    return cutoffs.cutoff_statistics(cutoff=cutoffs.cutoff_get(month=month, kind=kind),
                                   published=published,
                                   rebuild=national and request.query_params.get("rebuild") == "1")


STATS_PARAMETERS = [
    OpenApiParameter("published", bool, required=False,
                     description="apply disclosure control (always on for non-national users)"),
    OpenApiParameter("rebuild", bool, required=False,
                     description="national users: recompute from the manifest's versions"),
]


class StatisticsView(APIView):
    @extend_schema(parameters=STATS_PARAMETERS, responses={200: OpenApiTypes.OBJECT},
                   summary="Statistics of a frozen product (the monthly_stats JSON, plus coverage)")
    def get(self, request: Request, month: str, kind: str) -> Response:
        return Response(_statistics(request, month, kind))


class StatisticsCsvView(APIView):
    @extend_schema(parameters=STATS_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="Statistics of a frozen product as CSV (formula-safe)")
    def get(self, request: Request, month: str, kind: str) -> StreamingHttpResponse:
        stats = _statistics(request, month, kind)
        return _csv(cutoffs.statistics_csv_rows(stats), f"dids-statistics-{month}-{kind}.csv")


class ExtractCreateView(APIView):
    @extend_schema(request=ExtractRequestSerializer, responses={202: ExtractSerializer},
                   summary="Make a pseudonymised national extract (national analysts)")
    def post(self, request: Request, month: str, kind: str) -> Response:
        _national_only(request)
        data = ExtractRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        extract = extract_create(actor=request.user, month=month, kind=kind,
                                 format=data.validated_data["format"], request=request)
        extract.refresh_from_db()
        return Response(ExtractSerializer(extract).data, status=status.HTTP_202_ACCEPTED)


def _extract(request: Request, pk: int) -> Extract:
    _national_only(request)
    extract = Extract.objects.select_related("cutoff__period").filter(pk=pk).first()
    if extract is None:
        raise Http404("No such extract.")
    return extract


class ExtractDetailView(APIView):
    @extend_schema(responses=ExtractSerializer, summary="An extract's progress")
    def get(self, request: Request, pk: int) -> Response:
        return Response(ExtractSerializer(_extract(request, pk)).data)


class ExtractDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="Download a finished extract (national analysts)")
    def get(self, request: Request, pk: int) -> FileResponse:
        extract = _extract(request, pk)
        if extract.state != ExtractState.DONE or not extract.file:
            raise DomainError("The extract is not ready.", code="not_ready", status_code=409)
        name = extract_download_record(actor=request.user, extract=extract, request=request)
        return FileResponse(extract.file.open("rb"), as_attachment=True, filename=name)


# Compliance ----------------------------------------------------------------------------------

COMPLIANCE_PARAMETERS = [
    OpenApiParameter("start", str, required=False, description="YYYY-MM (default: 11 months ago)"),
    OpenApiParameter("end", str, required=False, description="YYYY-MM (default: this month)"),
    OpenApiParameter("region", str, required=False),
    OpenApiParameter("type", str, required=False, description="organisation type"),
    OpenApiParameter("organisation", str, required=False,
                     description="an organisation, with those that merged into it"),
]


def _register(request: Request) -> cycle.ComplianceRegister:
    _national_only(request)
    start, end = month_range_default()
    params = request.query_params
    return cycle.compliance_register(
        start=params.get("start") or start, end=params.get("end") or end,
        region=params.get("region") or None, organisation_type=params.get("type") or None,
        organisation_code=params.get("organisation") or None)


class ComplianceView(APIView):
    @extend_schema(parameters=COMPLIANCE_PARAMETERS, responses={200: OpenApiTypes.OBJECT},
                   summary="The compliance register: organisations x months (national users)")
    def get(self, request: Request) -> Response:
        return Response(_plain(_register(request)))


class ComplianceCsvView(APIView):
    @extend_schema(parameters=COMPLIANCE_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="The compliance register as CSV (formula-safe)")
    def get(self, request: Request) -> StreamingHttpResponse:
        return _csv(cycle.compliance_csv_rows(_register(request)), "dids-compliance.csv")


OWING_PARAMETERS = [
    OpenApiParameter("month", str, required=False, description="YYYY-MM (default: last month)"),
    OpenApiParameter("region", str, required=False),
    OpenApiParameter("type", str, required=False, description="organisation type"),
]


def _chase(request: Request) -> cycle.ChaseList:
    _national_only(request)
    params = request.query_params
    month = params.get("month") or add_months(month_range_default()[1], -1)
    return cycle.chase_list(month=month, region=params.get("region") or None,
                            organisation_type=params.get("type") or None)


class OwingView(APIView):
    @extend_schema(parameters=OWING_PARAMETERS, responses={200: OpenApiTypes.OBJECT},
                   summary="Who still owes a month: providers due, rejected only or missing, "
                           "their provider users' addresses and last reminder (national users)")
    def get(self, request: Request) -> Response:
        return Response(_plain(_chase(request)))


class OwingCsvView(APIView):
    @extend_schema(parameters=OWING_PARAMETERS,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
                   summary="Who still owes a month as CSV (formula-safe)")
    def get(self, request: Request) -> StreamingHttpResponse:
        chase = _chase(request)
        return _csv(cycle.chase_csv_rows(chase), f"dids-owing-{chase.month:%Y-%m}.csv")


# Providers' own months and version diffs ------------------------------------------------------

def _months_organisation(requested: str | None, visible: set[str] | None) -> str | None:
    """The organisation asked for, or the only visible one; None if not visible (a 404)."""
    code = (requested or "").strip().upper()
    if not code and visible is not None and len(visible) == 1:
        code = next(iter(visible))
    return code if code and (visible is None or code in visible) else None


def _months_body(code: str, written: str) -> bytes:
    head = JSONRenderer().render({"organisation": code})[:-1]
    return b'%s,"months":%s}' % (head, written.encode())


class ProviderMonthsView(APIView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self.poll(request) or super().dispatch(request, *args, **kwargs)

    def poll(self, request: HttpRequest) -> HttpResponse | None:
        """A token's poll of its months without DRF's dispatch (``short_path``), with the bytes
        and headers of DRF's path (a test holds them equal); anything else (not visible, a bad
        range, months PostgreSQL does not write) returns None and takes DRF's path."""
        token = short_path_token(request)
        code = token and _months_organisation(
            request.GET.get("organisation"), visible_organisation_codes(user=token.user, token=token))
        if token is None or code is None or code != token.organisation_id:
            return None
        try:
            written = provider_months_json(organisation_code=code, start=request.GET.get("start")
                                           or None, end=request.GET.get("end") or None)
        except DomainError:  # a bad range: DRF's path answers it with its error body
            return None
        return None if written is None else short_path_response(
            self, request, token, _months_body(code, written))

    @extend_schema(parameters=[OpenApiParameter("organisation", str, required=False),
                               OpenApiParameter("start", str, required=False),
                               OpenApiParameter("end", str, required=False)],
                   responses={200: OpenApiTypes.OBJECT},
                   summary="Each month's status, live version and cut-off versions of one "
                           "organisation (another organisation's: 404)")
    def get(self, request: Request) -> HttpResponse:
        visible = visible_organisation_codes(user=request.user, token=_token(request))
        code = _months_organisation(request.query_params.get("organisation"), visible)
        if code is None:
            raise Http404("No such organisation.")
        start, end = (request.query_params.get(key) or None for key in ("start", "end"))
        written = None
        if isinstance(request.accepted_renderer, JSONRenderer) and "indent" not in (
                request.accepted_media_type or ""):  # not the browsable API, nor indented JSON
            written = provider_months_json(organisation_code=code, start=start, end=end)
        if written is not None:  # PostgreSQL wrote the months as the renderer would have
            return HttpResponse(_months_body(code, written), content_type="application/json")
        months = provider_month_statuses(organisation_code=code, start=start, end=end)
        return Response({"organisation": code, "months": _plain(months)})


class VersionDiffView(APIView):
    @extend_schema(parameters=[OpenApiParameter("against", int, required=True,
                                                description="the older version's submission id")],
                   responses={200: OpenApiTypes.OBJECT},
                   summary="What changes between two versions of one organisation and month")
    def get(self, request: Request, pk: int) -> Response:
        token = _token(request)
        new = submission_get_for(user=request.user, pk=pk, token=token)
        old = submission_get_for(user=request.user, pk=request.query_params.get("against"),
                                 token=token)
        diff = cycle.version_diff(old=old, new=new)
        body = _plain(diff)
        for name in ("added", "removed", "changed"):
            body[name] = [{"site_code": s, "accession_number": a} for s, a in getattr(diff, name)]
        return Response(body)
