"""CSV downloads of the national pages (national analysts only; everyone else gets 404): the
compliance register, who still owes a month, the statistics tables and the audit list. Each
takes the same filters as its page, and every cell goes through csvsafe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.views import View

from dids_portal.lib.csvsafe import csv_attachment, csv_lines
from submissions.cycle.selectors import (
    chase_csv_rows,
    chase_list,
    compliance_csv_rows,
    compliance_register,
)
from submissions.views.months import recent_months
from submissions.views.national import (
    MATRIX_MONTHS,
    STATISTICS_MONTHS,
    NationalPageMixin,
    activity_table,
    audit_queryset,
    chase_month_default,
    chosen_statistics,
    month_statistics,
    provider_filters,
    requested_month,
    wait_table,
)


def csv_download(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    """A formula-safe CSV attachment that no cache keeps (it names people and organisations)."""
    return csv_attachment(csv_lines(rows), filename)


class ComplianceCsvView(NationalPageMixin, View):
    """The compliance register of the page's months and filter, a row per provider and month."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        region, type_, _ = provider_filters(request)
        months = sorted(recent_months(count=MATRIX_MONTHS))
        register = compliance_register(start=months[0], end=months[-1], region=region or None,
                                       organisation_type=type_ or None)
        return csv_download(compliance_csv_rows(register),
                            f"dids-compliance-{months[0]:%Y-%m}-to-{months[-1]:%Y-%m}.csv")


class ChaseCsvView(NationalPageMixin, View):
    """Who still owes the month, with their addresses and last reminder (the page's filter)."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        region, type_, _ = provider_filters(request)
        month = requested_month(request, chase_month_default())
        chase = chase_list(month=month, region=region or None, organisation_type=type_ or None)
        return csv_download(chase_csv_rows(chase), f"dids-owing-{month:%Y-%m}.csv")


class ActivityCsvView(NationalPageMixin, View):
    """The statistics page's table of examinations by month and modality."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        stats = month_statistics(user=request.user,
                                 months=recent_months(count=STATISTICS_MONTHS))
        modalities, table = activity_table(stats)
        rows: list[list[Any]] = [["month", "source", *modalities, "total", "note"]]
        rows.extend([f"{row['month']:%Y-%m}", row["source"], *row["values"], row["total"],
                     row["note"]] for row in table)
        return csv_download(rows, "dids-activity-by-modality.csv")


class WaitsCsvView(NationalPageMixin, View):
    """The statistics page's waiting times of the chosen month, by modality."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        picked = chosen_statistics(request=request)
        band_names, wait_rows = wait_table(picked["chosen"])
        source = picked["chosen"]["source"] if picked["chosen"] else ""
        rows: list[list[Any]] = [[
            "month", "source", "modality", "request_to_test_records", "request_to_test_median",
            "request_to_test_p90", *(f"request_to_test_days_{band}" for band in band_names),
            "test_to_report_records", "test_to_report_median", "test_to_report_p90"]]
        month = f"{picked['month']:%Y-%m}"
        for row in wait_rows:
            rows.append([month, source, row["modality"], *_blanks(
                row["n"], row["median"], row["p90"],
                *(row["bands"].get(band) for band in band_names),
                row["report_n"], row["report_median"], row["report_p90"])])
        return csv_download(rows, f"dids-waits-{month}.csv")


class AuditCsvView(NationalPageMixin, View):
    """Every version received (all pages of the audit list, with its filter), newest first."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        organisation, queryset = audit_queryset(request)
        name = f"dids-audit-{organisation}.csv" if organisation else "dids-audit.csv"
        return csv_download(_audit_rows(queryset), name)


def _blanks(*values: Any) -> list[Any]:
    return ["" if value is None else value for value in values]


def _audit_rows(queryset: Any) -> Iterator[list[Any]]:
    yield ["received_at", "organisation", "name", "month", "version", "live", "status",
           "channel", "sent_by", "api_token", "original_name", "rows", "accepted_rows",
           "rejected_rows", "warnings", "sha256"]
    for s in queryset.iterator(chunk_size=2000):
        yield [s.received_at.isoformat(), s.organisation_id, s.organisation.name,
               f"{s.activity_month:%Y-%m}", s.version, "yes" if s.is_live else "no", s.status,
               s.channel, s.submitted_by.email if s.submitted_by else "",
               s.api_token.prefix if s.api_token else "", s.original_name,
               *_blanks(s.rows, s.accepted_rows, s.rejected_rows, s.warning_count), s.sha256]
