"""National pages (national analysts only; everyone else gets 404): the compliance matrix, data
quality by provider, statistics charts, and the audit list of every version received."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView

from accounts.selectors import is_national
from accounts.views import SignedInMixin
from dids_portal.lib.pages import BreadcrumbsMixin
from reference.choices import PROVIDER_TYPES, Modality, OrganisationType
from reference.models import Organisation
from submissions import selectors
from submissions.choices import CutOffKind
from submissions.cycle.selectors import compliance_register, cutoff_list, cutoff_statistics
from submissions.cycle.statistics import product_scan
from submissions.views.charts import PALETTE, horizontal_bars, sparkline, stacked_bars
from submissions.views.months import STATES, TAG_COLOURS, recent_months

MATRIX_MONTHS = 6
STATISTICS_MONTHS = 12
NATIONAL_BREADCRUMBS = (("National overview", "national:home"),)


class NationalPageMixin(SignedInMixin):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not is_national(request.user):
            raise Http404("National pages are for the national team.")
        return super().dispatch(request, *args, **kwargs)


@dataclass
class Cell:
    """A compliance register cell with its tag colour."""

    month: date
    state: str
    label: str
    colour: str
    live_submission_id: int | None
    live_version: int | None
    quality: float | None
    versions: int


def compliance_matrix(*, region: str = "", type_: str = "",
                      months: list[date] | None = None) -> dict[str, Any]:
    """Providers x months (oldest first) from the compliance register; a cell is None where
    the provider was not in scope that month."""
    months = sorted(months or recent_months(count=MATRIX_MONTHS))
    register = compliance_register(start=months[0], end=months[-1], region=region or None,
                                   organisation_type=type_ or None)
    totals: dict[str, int] = defaultdict(int)
    rows = []
    for row in register.rows:
        cells: list[Cell | None] = []
        for cell in row.cells:
            if cell is None:
                cells.append(None)
                continue
            totals[cell.state] += 1
            cells.append(Cell(cell.month, cell.state, cell.state_label,
                              TAG_COLOURS.get(cell.state, "grey"), cell.live_submission_id,
                              cell.live_version, cell.quality, cell.versions))
        rows.append({"code": row.organisation_code, "name": row.name, "region": row.region,
                     "type": row.type, "carried_to": row.carried_to, "cells": cells})
    return {"months": register.months, "rows": rows,
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
    """Data quality by provider: each month's quality score from the compliance register (the
    share of the live file's rows accepted with no warning), with the trend over the months."""

    template_name = "submissions/national/quality.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        matrix = compliance_matrix()
        rows = []
        for row in matrix["rows"]:
            scores = [c.quality if c else None for c in row["cells"]]
            if all(score is None for score in scores):
                continue
            latest = next((score for score in reversed(scores) if score is not None), None)
            rows.append({**row, "trend": sparkline(scores, top=100), "latest": latest})
        context.update(months=matrix["months"], rows=rows)
        return context


def _modality_label(code: str) -> str:
    return Modality(code).label if code in Modality.values else code


def month_statistics(*, user: Any, months: list[date]) -> list[dict[str, Any]]:
    """Each month's figures, oldest first: from its final cut-off, else its provisional one,
    else (not yet cut off) the same SQL over the versions live now. Months with no records
    are left out."""
    cutoffs: dict[tuple[date, str], Any] = {
        (c.period.activity_month, c.kind): c for c in cutoff_list()
        if c.period.activity_month in months}
    live: dict[date, list[int]] = defaultdict(list)
    for month, pk in (selectors.submission_list_for(user=user)
                      .filter(is_live=True, activity_month__in=months)
                      .values_list("activity_month", "pk")):
        live[month].append(pk)
    result = []
    for month in sorted(months):
        cutoff = cutoffs.get((month, CutOffKind.FINAL)) or cutoffs.get((month, CutOffKind.PROVISIONAL))
        if cutoff is not None:
            figures = cutoff_statistics(cutoff=cutoff)
            source = f"{cutoff.get_kind_display()} cut-off"
        elif live.get(month):
            figures = product_scan(live[month])
            source = "Live files (not yet cut off)"
        else:
            continue
        if figures.get("total"):
            result.append({"month": month, "label": f"{month:%b %Y}", "source": source,
                           "figures": figures})
    return result


class StatisticsView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Monthly activity by modality and waiting times, each chart with its table."""

    template_name = "submissions/national/statistics.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stats = month_statistics(user=self.request.user,
                                 months=recent_months(count=STATISTICS_MONTHS))
        codes = sorted({m for s in stats for m in s["figures"]["by_modality"]},
                       key=lambda c: (Modality.values.index(c) if c in Modality.values else 99, c))
        modalities = [_modality_label(c) for c in codes]
        counts = {(s["label"], _modality_label(c)): n for s in stats
                  for c, n in s["figures"]["by_modality"].items()}
        activity_table = [
            {"month": s["label"], "source": s["source"],
             "values": [s["figures"]["by_modality"].get(c, 0) for c in codes],
             "total": s["figures"]["total"]} for s in stats]
        latest = stats[-1] if stats else None
        wait_rows: list[dict[str, Any]] = []
        if latest is not None:
            waits = latest["figures"]["waits"]
            for code in codes:
                rt = waits["request_to_test"].get(code) or {}
                tr = waits["test_to_report"].get(code) or {}
                if not rt.get("n") and not tr.get("n"):
                    continue
                bands = rt.get("bands") or {}
                wait_rows.append({"modality": _modality_label(code), "n": rt.get("n"),
                                  "median": rt.get("median"), "p90": rt.get("p90"),
                                  "bands": bands, "report_n": tr.get("n"),
                                  "report_median": tr.get("median"), "report_p90": tr.get("p90")})
        band_names = list(wait_rows[0]["bands"]) if wait_rows else []
        context.update(
            modalities=modalities, activity_table=activity_table,
            activity_chart=stacked_bars([s["label"] for s in stats], modalities, counts)
            if stats else None,
            latest=latest, wait_rows=wait_rows, band_names=band_names,
            wait_chart=horizontal_bars([r["modality"] for r in wait_rows],
                                       [float(r["median"] or 0) for r in wait_rows])
            if wait_rows else None,
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
