"""The national data-quality page's data-quality scores and plausibility notices: read from
the live versions of the compliance matrix's months (both were stored when each version was
processed; nothing is computed from the records here)."""

from __future__ import annotations

from datetime import date
from statistics import median
from typing import Any

from submissions.models import Submission
from submissions.views.charts import sparkline


def item_quality_context(matrix: dict[str, Any]) -> dict[str, Any]:
    """Per provider, each month's data-quality score of its live version with the trend and
    the latest; per month, the peer median (of the providers with a score); and the
    plausibility notices of the live versions, newest month first."""
    live_ids = [
        cell.live_submission_id
        for row in matrix["rows"]
        for cell in row["cells"]
        if cell is not None and cell.live_submission_id
    ]
    stored = {
        pk: (score, notices)
        for pk, score, notices in Submission.objects.filter(pk__in=live_ids).values_list(
            "pk", "quality_score", "plausibility"
        )
    }
    months: list[date] = list(matrix["months"])
    rows, notices = [], []
    by_month: list[list[float]] = [[] for _ in months]
    for row in matrix["rows"]:
        scores: list[float | None] = []
        for i, cell in enumerate(row["cells"]):
            score, found = stored.get(cell.live_submission_id, (None, [])) if cell else (None, [])
            scores.append(score)
            if score is not None:
                by_month[i].append(score)
            for notice in found or []:
                notices.append(
                    {
                        "code": row["code"],
                        "name": row["name"],
                        "month": months[i],
                        "submission_id": cell.live_submission_id,
                        **notice,
                    }
                )
        latest = next((s for s in reversed(scores) if s is not None), None)
        rows.append(
            {
                "code": row["code"],
                "name": row["name"],
                "cells": list(zip(months, scores, row["cells"], strict=True)),
                "trend": sparkline(scores, top=100),
                "latest": latest,
            }
        )
    peer = [round(median(values), 1) if values else None for values in by_month]
    notices.sort(key=lambda n: (n["month"], n["code"]), reverse=True)
    return {
        "dq_rows": rows,
        "peer_medians": peer,
        "peer_trend": sparkline(peer, top=100),
        "notices": notices,
    }
