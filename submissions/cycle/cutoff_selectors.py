"""Reads of the frozen products: a month's cut-offs, and their statistics with the disclosure
control applied for publication (SPEC 8)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet

from dids_portal.lib.errors import DomainError
from submissions.choices import CutOffKind
from submissions.cycle.timetable import month_start
from submissions.models import CutOff

# The keys of ``monthly_stats --format json``, in order.
STATISTICS_KEYS = ("month", "cutoff", "total", "by_modality", "by_provider", "by_source_setting",
                   "waits", "by_provider_modality", "coverage")
SMALL_COUNT = 7
ROUND_TO = 5


def cutoff_get(*, month: date | str, kind: str) -> CutOff:
    if kind not in CutOffKind.values:
        raise DomainError(f"The cut-off is provisional or final, not {kind!r}.", code="invalid_kind")
    cutoff = (CutOff.objects.select_related("period", "run_by")
              .filter(period__activity_month=month_start(month), kind=kind).first())
    if cutoff is None:
        raise DomainError(f"There is no {kind} cut-off for {month_start(month):%Y-%m} yet.",
                          code="no_cutoff", status_code=404)
    return cutoff


def cutoff_queryset() -> QuerySet[CutOff]:
    """Every cut-off with what its list shows (the API pages through it, newest first)."""
    return CutOff.objects.select_related("period", "run_by")


def cutoff_list(*, months: list[date] | None = None) -> list[CutOff]:
    """Every cut-off (the API's list), or only those of ``months`` without their manifests
    (the statistics pages read the statistics frozen with them, never the manifest)."""
    queryset = cutoff_queryset()
    if months is not None:
        queryset = queryset.filter(period__activity_month__in=months).defer("manifest")
    return list(queryset)


def cutoff_months() -> list[date]:
    """The months with at least one cut-off (one small read, whatever the manifests hold)."""
    return list(CutOff.objects.order_by().values_list("period__activity_month", flat=True)
                .distinct())


def _disclose(value: Any, *, national: bool) -> Any:
    """SPEC 8 disclosure control: 0 stays 0, 1-7 become '*', sub-national counts are
    rounded to the nearest 5 and national totals are not."""
    if not isinstance(value, int) or value == 0:
        return value
    if value <= SMALL_COUNT:
        return "*"
    return value if national else ROUND_TO * round(value / ROUND_TO)


def disclosed(statistics: dict[str, Any]) -> dict[str, Any]:
    """The published form of a statistics dict: by provider is sub-national, the rest national."""
    published = dict(statistics)
    published["by_modality"] = {k: _disclose(v, national=True)
                                for k, v in statistics["by_modality"].items()}
    published["by_source_setting"] = {k: _disclose(v, national=True)
                                      for k, v in statistics["by_source_setting"].items()}
    published["by_provider"] = {k: _disclose(v, national=False)
                                for k, v in statistics["by_provider"].items()}
    if "by_provider_modality" in statistics:
        published["by_provider_modality"] = {
            p: {m: _disclose(v, national=False) for m, v in counts.items()}
            for p, counts in statistics["by_provider_modality"].items()}
    waits: dict[str, Any] = {}
    for name, groups in statistics["waits"].items():
        waits[name] = {}
        for modality, figures in groups.items():
            small = 0 < figures["n"] <= SMALL_COUNT
            entry = {"n": _disclose(figures["n"], national=True),
                     "median": "*" if small else figures["median"],
                     "p90": "*" if small else figures["p90"]}
            if "bands" in figures:
                entry["bands"] = {b: _disclose(v, national=True)
                                  for b, v in figures["bands"].items()}
            waits[name][modality] = entry
    published["waits"] = waits
    published["published"] = True
    return published


def cutoff_statistics(*, cutoff: CutOff, published: bool = False,
                      rebuild: bool = False) -> dict[str, Any]:
    """The statistics of a frozen product: those frozen with it, or (``rebuild``) computed
    again from the versions its manifest lists. ``published`` applies disclosure control."""
    from submissions.cycle.statistics import product_scan

    if rebuild:
        scanned = product_scan([v["submission_id"] for v in cutoff.manifest["versions"]],
                               month=cutoff.period.activity_month)
        figures = {k: scanned[k] for k in ("total", "by_modality", "by_provider",
                                           "by_provider_modality", "by_source_setting", "waits")}
        figures["coverage"] = cutoff.statistics.get("coverage")
        figures["records_checksum"] = scanned["checksum"]
    else:
        figures = {k: v for k, v in cutoff.statistics.items()}
        figures["records_checksum"] = cutoff.records_checksum
    result = {"month": f"{cutoff.period.activity_month:%Y-%m}", "cutoff": cutoff.kind, **figures}
    return disclosed(result) if published else result


def statistics_csv_rows(statistics: dict[str, Any]) -> list[list[Any]]:
    """A statistics dict as long-format CSV rows: measure, group, figure, value."""
    rows: list[list[Any]] = [["month", "cutoff", "measure", "group", "figure", "value"]]
    head = [statistics["month"], statistics["cutoff"]]
    rows.append([*head, "total", "", "examinations", statistics["total"]])
    for measure in ("by_modality", "by_provider", "by_source_setting"):
        for group, value in statistics[measure].items():
            rows.append([*head, measure, group, "examinations", value])
    for provider, counts in (statistics.get("by_provider_modality") or {}).items():
        for modality, value in counts.items():
            rows.append([*head, "by_provider_modality", f"{provider}/{modality}", "examinations",
                         value])
    for wait, groups in statistics["waits"].items():
        for group, figures in groups.items():
            for figure in ("n", "median", "p90"):
                value = figures[figure]
                rows.append([*head, wait, group, figure, "" if value is None else value])
            for band, value in figures.get("bands", {}).items():
                rows.append([*head, wait, group, f"days {band}", value])
    coverage = statistics.get("coverage") or {}
    for figure, value in coverage.items():
        rows.append([*head, "coverage", "", figure, "" if value is None else value])
    return rows
