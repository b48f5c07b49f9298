"""National pages (national analysts only; everyone else gets 404): the compliance matrix, data
quality by provider, statistics charts, and the audit list of every version received."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView

from accounts.selectors import is_national
from accounts.views import SignedInMixin
from dids_portal.lib.pages import BreadcrumbsMixin
from reference.choices import PROVIDER_TYPES, Modality, OrganisationType
from reference.models import Organisation
from submissions import selectors
from submissions.choices import FINISHED_STATUSES, SubmissionStatus
from submissions.models import Record, Submission
from submissions.views.charts import PALETTE, sparkline, stacked_bars
from submissions.views.months import STATES, month_states, recent_months

MATRIX_MONTHS = 6
STATISTICS_MONTHS = 12
NATIONAL_BREADCRUMBS = (("National overview", "national:home"),)


class NationalPageMixin(SignedInMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not is_national(request.user):
            raise Http404("National pages are for the national team.")
        return super().dispatch(request, *args, **kwargs)


def _providers(region: str = "", type_: str = "") -> list[Organisation]:
    queryset = Organisation.objects.filter(type__in=PROVIDER_TYPES).order_by("name")
    if region:
        queryset = queryset.filter(region=region)
    if type_:
        queryset = queryset.filter(type=type_)
    return list(queryset)


def _in_scope(organisation: Organisation, month: date) -> bool:
    if organisation.in_scope_from and month < organisation.in_scope_from.replace(day=1):
        return False
    return not (organisation.in_scope_to and month > organisation.in_scope_to)


def compliance_matrix(*, region: str = "", type_: str = "",
                      months: list[date] | None = None) -> dict[str, Any]:
    """Providers x months, each cell a compliance state (None where not in scope)."""
    months = months or recent_months(count=MATRIX_MONTHS)
    months = sorted(months)
    providers = _providers(region, type_)
    states = month_states(organisation_codes=[o.code for o in providers], months=months)
    rows = []
    totals: dict[str, int] = defaultdict(int)
    for organisation in providers:
        cells = []
        for month in months:
            state = states[(organisation.code, month)] if _in_scope(organisation, month) else None
            cells.append(state)
            if state is not None:
                totals[state.state] += 1
        rows.append({"organisation": organisation, "cells": cells})
    return {"months": months, "rows": rows,
            "totals": [(key, label, colour, totals.get(key, 0))
                       for key, (label, colour) in STATES.items()]}


class NationalHomeView(NationalPageMixin, TemplateView):
    """The national overview: this month's compliance at a glance and the pages behind it."""

    template_name = "submissions/national/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        matrix = compliance_matrix(months=recent_months(count=2)[1:])
        context.update(
            month=matrix["months"][0], totals=matrix["totals"],
            recent=list(selectors.submission_list_for(user=self.request.user)
                        .order_by("-received_at")[:5]),
        )
        return context


class ComplianceView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Organisations x months: who has sent an accepted file, on time or late, or not."""

    template_name = "submissions/national/compliance.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        region = self.request.GET.get("region", "")
        type_ = self.request.GET.get("type", "")
        regions = list(Organisation.objects.filter(type__in=PROVIDER_TYPES).exclude(region="")
                       .order_by("region").values_list("region", flat=True).distinct())
        if region not in regions:
            region = ""
        if type_ not in PROVIDER_TYPES:
            type_ = ""
        context.update(
            matrix=compliance_matrix(region=region, type_=type_), regions=regions, region=region,
            types=[(t.value, t.label) for t in PROVIDER_TYPES], type=type_,
            states=[(label, colour) for label, colour in STATES.values()],
        )
        return context


class QualityView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Data quality by provider: the share of records rejected and the warnings of each
    month's live version (or, with none live, the newest finished one), with the trend."""

    template_name = "submissions/national/quality.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        months = sorted(recent_months(count=MATRIX_MONTHS))
        chosen: dict[tuple[str, date], Submission] = {}
        queryset = (Submission.objects.filter(activity_month__in=months,
                                              status__in=FINISHED_STATUSES)
                    .exclude(status=SubmissionStatus.FAILED)
                    .only("organisation_id", "activity_month", "version", "is_live", "rows",
                          "rejected_rows", "warning_count", "status", "file_rejected")
                    .order_by("version"))
        for submission in queryset:
            key = (submission.organisation_id, submission.activity_month)
            if key not in chosen or not chosen[key].is_live:
                chosen[key] = submission
        rows = []
        for organisation in _providers():
            cells = []
            for month in months:
                submission = chosen.get((organisation.code, month))
                if submission is None or not submission.rows:
                    cells.append(None)
                    continue
                cells.append({
                    "submission": submission,
                    "rejected_pct": 100 * (submission.rejected_rows or 0) / submission.rows,
                    "warnings_per_100": 100 * (submission.warning_count or 0) / submission.rows,
                })
            trend = [c["rejected_pct"] if c else None for c in cells]
            if any(c is not None for c in cells):
                rows.append({"organisation": organisation, "cells": cells,
                             "trend": sparkline(trend, top=100), "latest": next(
                                 (c for c in reversed(cells) if c), None)})
        context.update(months=months, rows=rows)
        return context


def _percentile(values: list[int], fraction: float) -> int | None:
    """Nearest rank: the ceil(fraction * n)-th smallest."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


class StatisticsView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Monthly activity by modality and waiting times, from the live versions of each month."""

    template_name = "submissions/national/statistics.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        months = sorted(recent_months(count=STATISTICS_MONTHS))
        live = Record.objects.filter(submission__is_live=True,
                                     submission__activity_month__in=months)
        counts: dict[tuple[str, str], int] = {}
        modalities_seen: set[str] = set()
        for month, modality, n in (live.values_list("submission__activity_month", "modality")
                                   .annotate(n=Count("line")).order_by()):
            label = Modality(modality).label if modality in Modality.values else modality
            counts[(f"{month:%b %Y}", label)] = counts.get((f"{month:%b %Y}", label), 0) + n
            modalities_seen.add(label)
        month_labels = [f"{m:%b %Y}" for m in months]
        used_months = [m for m in month_labels if any(k[0] == m for k in counts)]
        modalities = [m.label for m in Modality if m.label in modalities_seen]
        modalities += sorted(modalities_seen - set(modalities))
        activity_table = [
            {"month": m, "values": [counts.get((m, s), 0) for s in modalities],
             "total": sum(counts.get((m, s), 0) for s in modalities)} for m in used_months]

        waits: dict[date, list[int]] = defaultdict(list)
        for month, requested, tested in (live.exclude(request_date=None)
                                         .values_list("submission__activity_month",
                                                      "request_date", "activity_date")
                                         .iterator(chunk_size=10_000)):
            waits[month].append((tested - requested).days)
        wait_rows = []
        for month in months:
            days = sorted(waits.get(month, []))
            if not days:
                continue
            within = sum(1 for d in days if d <= 41)
            wait_rows.append({"month": f"{month:%b %Y}", "count": len(days),
                              "median": _median(days), "p90": _percentile(days, 0.9),
                              "within_6_weeks": 100 * within / len(days)})
        context.update(
            modalities=modalities, activity_table=activity_table,
            activity_chart=stacked_bars(used_months, modalities, counts) if used_months else None,
            wait_rows=wait_rows,
            wait_chart=stacked_bars([r["month"] for r in wait_rows], ["Median wait (days)"],
                                    {(r["month"], "Median wait (days)"): r["median"]
                                     for r in wait_rows}) if wait_rows else None,
            palette=PALETTE,
        )
        return context


class AuditView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Every version received, newest first: who sent what, when, how, and its result."""

    template_name = "submissions/national/audit.html"
    breadcrumbs = NATIONAL_BREADCRUMBS
    page_size = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        organisation = self.request.GET.get("organisation", "").strip().upper()
        queryset = (selectors.submission_list_for(user=self.request.user)
                    .select_related("api_token").order_by("-received_at", "-pk"))
        if organisation:
            queryset = queryset.filter(organisation_id=organisation)
        page = Paginator(queryset, self.page_size).get_page(self.request.GET.get("page"))
        context.update(page=page, submissions=page.object_list, organisation=organisation,
                       organisation_types=dict(OrganisationType.choices))
        return context
