"""What processing stores with a version beyond its findings: its data-quality score per item
(from the engine's report), its accepted records by modality and site, and its plausibility
notices against the organisation's own history. Computed once, while the version is
processed; pages and the API only read it. The reads of scores for the result page are here
too (``score_line``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from submissions.choices import ACCEPTED_STATUSES
from submissions.engine import Report
from submissions.engine.scoring import SCORED_ITEMS
from submissions.models import Submission, VersionStatistics
from submissions.plausibility import Thresholds, history_months, notices
from submissions.tally import StatisticsTally


def submission_assess(*, submission: Submission, report: Report,
                      tally: StatisticsTally | None = None) -> None:
    """Set the version's quality, record counts and plausibility from its report (the caller
    saves it), and store the statistics' counts of its records (``tally``, which also gives
    the record counts when the engine left them to it: ``validate(record_counts=False)``). A
    rejected file keeps its quality (of the records read) but no counts or notices: it never
    replaces anything."""
    submission.quality = dict(report.quality)
    submission.quality_score = report.quality_score
    accepted = submission.status in ACCEPTED_STATUSES
    counts = report.record_counts if tally is None else tally.record_counts()
    submission.record_counts = dict(counts) if accepted else {}
    submission.plausibility = (
        notices(submission.record_counts, _history(submission), Thresholds.from_settings())
        if accepted
        else []
    )
    if accepted and tally is not None:
        VersionStatistics.objects.update_or_create(submission=submission, defaults=tally.result())


def _history(submission: Submission) -> list[dict[str, dict[str, int]]]:
    """The record counts of the organisation's live versions of the 6 months before."""
    first, last = history_months(submission.activity_month)
    return list(
        Submission.objects.filter(
            organisation_id=submission.organisation_id,
            is_live=True,
            activity_month__gte=first,
            activity_month__lte=last,
        )
        .exclude(pk=submission.pk)
        .order_by("activity_month")
        .values_list("record_counts", flat=True)
    )


@dataclass(frozen=True)
class ScoreLine:
    """The result page's score line: this file, the month if this file is accepted (it
    becomes the live version), the month's live score now if another version is live, and
    the previous month's live score."""

    file: float | None
    month_if_accepted: float | None
    month_now: float | None
    month_now_version: int | None
    last_month: float | None
    last_month_date: date


def score_line(submission: Submission) -> ScoreLine:
    month = submission.activity_month
    previous = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    live = {
        s.activity_month: s
        for s in Submission.objects.filter(
            organisation_id=submission.organisation_id,
            is_live=True,
            activity_month__in=[month, previous],
        ).only("activity_month", "version", "quality_score")
    }
    now = live.get(month)
    last = live.get(previous)
    other = now is not None and now.pk != submission.pk
    return ScoreLine(
        file=submission.quality_score,
        month_if_accepted=submission.quality_score,
        month_now=now.quality_score if other and now else None,
        month_now_version=now.version if other and now else None,
        last_month=last.quality_score if last else None,
        last_month_date=previous,
    )


def quality_rows(quality: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored per-item counts as table rows, in the order of the scored items, with the
    percentages present and valid beside the share (present, valid and not a default)."""
    rows = []
    for item in SCORED_ITEMS:
        q = quality.get(item.key)
        if not q or not q.get("records"):
            continue
        records = q["records"]
        rows.append(
            {
                "key": item.key,
                "label": item.label,
                "records": records,
                "present": 100.0 * q["present"] / records,
                "valid": 100.0 * q["valid"] / records,
                "defaults": q["valid"] - q["good"],
                "share": q["share"],
            }
        )
    return rows


def result_context(submission: Submission) -> dict[str, Any]:
    """What the result page shows of a version's assessment (stored; read only)."""
    if not submission.is_finished or submission.quality_score is None:
        return {"score_line": None, "quality_rows": [], "notices": submission.plausibility or []}
    return {
        "score_line": score_line(submission),
        "quality_rows": quality_rows(submission.quality),
        "notices": submission.plausibility,
    }
