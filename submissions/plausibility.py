"""Plausibility against the organisation's own history: a version's accepted records by
modality at each site, against the median of the organisation's live versions of the 6
activity months before (when there are at least 3). Notices never reject a record.

A movement is a notice when the version's count is more than DIDS_PLAUSIBILITY_BELOW (a
fraction) under the median or more than DIDS_PLAUSIBILITY_ABOVE over it, and differs from it
by at least DIDS_PLAUSIBILITY_MIN_RECORDS records. A month's live version with no records of
a modality at a site counts 0 for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from django.conf import settings

from reference.choices import Modality

HISTORY_MONTHS = 6
MIN_HISTORY = 3

Counts = Mapping[str, Mapping[str, int]]  # modality -> site -> records


@dataclass(frozen=True)
class Thresholds:
    below: float
    above: float
    min_records: int

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            below=float(settings.DIDS_PLAUSIBILITY_BELOW),
            above=float(settings.DIDS_PLAUSIBILITY_ABOVE),
            min_records=int(settings.DIDS_PLAUSIBILITY_MIN_RECORDS),
        )


def history_months(month: date) -> tuple[date, date]:
    """The first and last of the activity months a version of `month` is compared with."""
    index = month.year * 12 + month.month - 1
    first = index - HISTORY_MONTHS
    return date(first // 12, first % 12 + 1, 1), date((index - 1) // 12, (index - 1) % 12 + 1, 1)


def notices(
    counts: Counts, history: Sequence[Counts], thresholds: Thresholds
) -> list[dict[str, Any]]:
    """The notices of a version's counts against its history (the live versions' counts)."""
    if len(history) < MIN_HISTORY:
        return []
    pairs = {(m, s) for c in (counts, *history) for m, sites in c.items() for s in sites}
    out = []
    for modality, site in sorted(pairs):
        records = int(counts.get(modality, {}).get(site, 0))
        mid = float(median(int(h.get(modality, {}).get(site, 0)) for h in history))
        if abs(records - mid) < thresholds.min_records:
            continue
        if mid == 0:
            direction, change = "above", None
        else:
            change = (records - mid) / mid
            if change < -thresholds.below:
                direction = "below"
            elif change > thresholds.above:
                direction = "above"
            else:
                continue
        out.append(_notice(modality, site, records, mid, change, direction, len(history)))
    return out


def _notice(
    modality: str,
    site: str,
    records: int,
    mid: float,
    change: float | None,
    direction: str,
    months: int,
) -> dict[str, Any]:
    label = Modality(modality).label if modality in Modality.values else modality
    where = f"{label} at {site}" if site else label
    median_text = f"{mid:,.0f}" if mid == int(mid) else f"{mid:,.1f}"
    if change is None:
        message = f"{where}: {records:,} records, none in your {HISTORY_MONTHS}-month median"
    else:
        message = (
            f"{where}: {records:,} records, {abs(change):.0%} {direction} your "
            f"{HISTORY_MONTHS}-month median of {median_text}"
        )
    return {
        "modality": modality,
        "site": site,
        "records": records,
        "median": mid,
        "change_percent": None if change is None else round(100 * change, 1),
        "direction": direction,
        "history_versions": months,
        "message": message,
    }
