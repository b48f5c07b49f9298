"""National pages (national analysts only; everyone else gets 404): the compliance matrix, data
quality by provider, statistics charts, and the audit list of every version received."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView

from accounts.selectors import is_national
from accounts.views import SignedInMixin
from dids_portal.lib.errors import DomainError
from dids_portal.lib.pages import BreadcrumbsMixin
from reference.choices import PROVIDER_TYPES, Modality, OrganisationType
from reference.models import Organisation
from submissions import selectors
from submissions.choices import CutOffKind
from submissions.cycle.cutoff_selectors import cutoff_list, cutoff_months, cutoff_statistics
from submissions.cycle.selectors import chase_list, compliance_register
from submissions.cycle.statistics import live_statistics
from submissions.models import Submission
from submissions.services import month_start
from submissions.views.charts import PALETTE, horizontal_bars, sparkline, stacked_bars
from submissions.views.months import STATES, TAG_COLOURS, recent_months
from submissions.views.national_quality import item_quality_context

MATRIX_MONTHS = 6
STATISTICS_MONTHS = 12
CHASE_MONTHS = 12
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


def provider_filters(request: HttpRequest) -> tuple[str, str, list[str]]:
    """The region and type of provider asked for (blank when unknown), and the regions."""
    region = request.GET.get("region", "")
    type_ = request.GET.get("type", "")
    regions = list(Organisation.objects.filter(type__in=PROVIDER_TYPES).exclude(region="")
                   .order_by("region").values_list("region", flat=True).distinct())
    return (region if region in regions else "",
            type_ if type_ in PROVIDER_TYPES else "", regions)


# The activity months a page can be asked for (DIDS began in 2012).
MONTH_YEARS = range(2000, 3000)


def requested_month(request: HttpRequest, default: date) -> date:
    """The ``month`` asked for (YYYY-MM), or the default; a malformed month, or one outside
    ``MONTH_YEARS``, is a 404."""
    value = request.GET.get("month", "").strip()
    if not value:
        return default
    try:
        month = month_start(value)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    if month.year not in MONTH_YEARS:
        raise Http404("No such activity month.")
    return month


def chase_month_default() -> date:
    """Last month: the newest month that is over, so the first one anybody can owe."""
    return recent_months(count=2)[1]


class ComplianceView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Organisations x months: who has sent an accepted file, on time or late, or not; and for
    one chosen month, who still owes it, whom to write to and when they were last reminded."""

    template_name = "submissions/national/compliance.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        region, type_, regions = provider_filters(self.request)
        month = requested_month(self.request, chase_month_default())
        months = recent_months(count=CHASE_MONTHS)
        if month not in months:
            months = sorted([*months, month], reverse=True)
        query = {k: v for k, v in (("region", region), ("type", type_)) if v}
        chase = chase_list(month=month, region=region or None, organisation_type=type_ or None)
        context.update(
            matrix=compliance_matrix(region=region, type_=type_), regions=regions, region=region,
            types=[(t.value, t.label) for t in PROVIDER_TYPES], type=type_,
            states=[(label, colour) for label, colour in STATES.values()],
            chase=chase, chase_months=months, month=month,
            chase_rows=[(row, TAG_COLOURS.get(row.state, "grey")) for row in chase.rows],
            chase_month_over=month < recent_months(count=1)[0],
            register_query=urlencode(query),
            chase_query=urlencode({**query, "month": f"{month:%Y-%m}"}),
        )
        return context


class QualityView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Data quality by provider: each month's data-quality score of the live file (per item,
    stored when it was processed) with its trend and the peer median, the live files'
    plausibility notices, and the share of the live file's rows accepted with no warning from
    the compliance register. Every provider in scope is listed, those that sent no file too."""

    template_name = "submissions/national/quality.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        matrix = compliance_matrix()
        rows = []
        for row in matrix["rows"]:
            scores = [c.quality if c else None for c in row["cells"]]
            latest = next((score for score in reversed(scores) if score is not None), None)
            rows.append({**row, "trend": sparkline(scores, top=100), "latest": latest})
        context.update(months=matrix["months"], rows=rows, **item_quality_context(matrix))
        return context


def _modality_label(code: str) -> str:
    return Modality(code).label if code in Modality.values else code


def month_statistics(*, user: Any, months: list[date]) -> list[dict[str, Any]]:
    """Each month's figures, oldest first: from its final cut-off, else its provisional one,
    else (not yet cut off) the counts stored with the versions live now. A month with neither is
    left out; one whose cut-off took no records is kept, marked ``empty``."""
    cutoffs: dict[tuple[date, str], Any] = {
        (c.period.activity_month, c.kind): c for c in cutoff_list(months=months)}
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
            note = f"The {cutoff.get_kind_display().lower()} cut-off took no records."
        elif live.get(month):
            figures = live_statistics(live[month])
            source = "Live files (not yet cut off)"
            note = "The live files hold no records."
        else:
            continue
        empty = not figures.get("total")
        result.append({"month": month, "label": f"{month:%b %Y}", "source": source,
                       "figures": figures, "empty": empty, "note": note if empty else ""})
    return result


def statistics_months(*, user: Any) -> list[date]:
    """The months with statistics to show, newest first: any with a cut-off or live files."""
    months = set(cutoff_months())
    months.update(selectors.submission_list_for(user=user).filter(is_live=True)
                  .order_by().values_list("activity_month", flat=True).distinct())
    return sorted(months, reverse=True)


def modality_codes(stats: list[dict[str, Any]]) -> list[str]:
    """The modalities in these months' figures, in the code list's order."""
    codes = {m for s in stats for m in s["figures"]["by_modality"]}
    codes.update(m for s in stats for wait in s["figures"]["waits"].values() for m in wait)
    return sorted(codes, key=lambda c: (Modality.values.index(c) if c in Modality.values
                                        else 99, c))


def activity_table(stats: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Examinations by month (oldest first) and modality: the modality labels, and a row per
    month with a value per modality and the total."""
    codes = [c for c in modality_codes(stats)
             if any(c in s["figures"]["by_modality"] for s in stats)]
    rows = [{"month": s["month"], "label": s["label"], "source": s["source"],
             "empty": s["empty"], "note": s["note"],
             "values": [s["figures"]["by_modality"].get(c, 0) for c in codes],
             "total": s["figures"].get("total") or 0} for s in stats]
    return [_modality_label(c) for c in codes], rows


def wait_table(stat: dict[str, Any] | None) -> tuple[list[str], list[dict[str, Any]]]:
    """One month's waits by modality: the band names, and a row per modality with records."""
    if stat is None:
        return [], []
    waits = stat["figures"]["waits"]
    rows: list[dict[str, Any]] = []
    for code in modality_codes([stat]):
        rt = waits.get("request_to_test", {}).get(code) or {}
        tr = waits.get("test_to_report", {}).get(code) or {}
        if not rt.get("n") and not tr.get("n"):
            continue
        rows.append({"modality": _modality_label(code), "n": rt.get("n"),
                     "median": rt.get("median"), "p90": rt.get("p90"),
                     "bands": rt.get("bands") or {}, "report_n": tr.get("n"),
                     "report_median": tr.get("median"), "report_p90": tr.get("p90")})
    bands = list(next((r["bands"] for r in rows if r["bands"]), {}))
    return bands, rows


def chosen_statistics(*, request: HttpRequest,
                      stats: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The month whose waits to show (``?month=``, else the newest with figures), the months
    to choose from, and that month's figures (None where it has neither cut-off nor files)."""
    options = statistics_months(user=request.user)
    month = requested_month(request, options[0] if options else recent_months(count=1)[0])
    chosen = next((s for s in stats or [] if s["month"] == month), None)
    if chosen is None and month in options:
        found = month_statistics(user=request.user, months=[month])
        chosen = found[0] if found else None
    if month not in options:
        options = sorted([*options, month], reverse=True)
    return {"month": month, "months": options, "chosen": chosen}


class StatisticsView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Monthly activity by modality and one chosen month's waiting times, each chart with its
    table and a CSV download of the table."""

    template_name = "submissions/national/statistics.html"
    breadcrumbs = NATIONAL_BREADCRUMBS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stats = month_statistics(user=self.request.user,
                                 months=recent_months(count=STATISTICS_MONTHS))
        modalities, table = activity_table(stats)
        counts = {(row["label"], name): value for row in table
                  for name, value in zip(modalities, row["values"], strict=True)}
        picked = chosen_statistics(request=self.request, stats=stats)
        band_names, wait_rows = wait_table(picked["chosen"])
        context.update(
            modalities=modalities, activity_table=table,
            activity_chart=stacked_bars([row["label"] for row in table], modalities, counts)
            if any(row["total"] for row in table) else None,
            month=picked["month"], months=picked["months"], chosen=picked["chosen"],
            wait_rows=wait_rows, band_names=band_names,
            wait_chart=horizontal_bars([r["modality"] for r in wait_rows],
                                       [float(r["median"] or 0) for r in wait_rows])
            if wait_rows else None,
            palette=PALETTE,
        )
        return context


def audit_queryset(request: HttpRequest) -> tuple[str, QuerySet[Submission]]:
    """The organisation asked for (its ODS code, upper case) and every version received,
    newest first, of it or (none asked for) of every organisation."""
    organisation = request.GET.get("organisation", "").strip().upper()
    queryset = (selectors.submission_list_for(user=request.user)
                .select_related("api_token").order_by("-received_at", "-pk"))
    if organisation:
        queryset = queryset.filter(organisation_id=organisation)
    return organisation, queryset


class AuditView(NationalPageMixin, BreadcrumbsMixin, TemplateView):
    """Every version received, newest first: who sent what, when, how, and its result."""

    template_name = "submissions/national/audit.html"
    breadcrumbs = NATIONAL_BREADCRUMBS
    page_size = 50

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        organisation, queryset = audit_queryset(self.request)
        page = Paginator(queryset, self.page_size).get_page(self.request.GET.get("page"))
        context.update(page=page, submissions=page.object_list, organisation=organisation,
                       organisation_types=dict(OrganisationType.choices),
                       audit_query=urlencode({"organisation": organisation} if organisation
                                             else {}))
        return context
