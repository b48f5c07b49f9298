"""A version's records summed up as they are stored, for the statistics of a month that no
cut-off has frozen yet: counts by (site, patient source setting, modality) and the histogram
of each wait by modality. Pages add the live versions' tallies up; none counts records.

The definitions are those of ``submissions.cycle.statistics`` (SPEC 8): waits in whole days,
only records with both dates. Each batch is grouped where it is (a few milliseconds for a
batch of 100,000 records); the groups of all batches are added up once at the end.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from submissions.engine.scoring import add_record_counts

GROUP_KEYS = ("site_code", "patient_source_setting", "modality")
# The wait histograms: name -> (later date, earlier date).
WAITS = {"request_to_test": ("activity_date", "request_date"),
         "test_to_report": ("report_day", "activity_date")}


class StatisticsTally:
    """Counts of the records handed to ``add``, batch by batch."""

    def __init__(self) -> None:
        self._groups: list[pl.DataFrame] = []
        self._waits: dict[str, list[pl.DataFrame]] = {}
        self.clear()

    def add(self, batch: pl.DataFrame) -> None:
        if not batch.height:
            return
        self._groups.append(batch.group_by(list(GROUP_KEYS)).agg(pl.len().alias("n")))
        for name, (later, earlier) in WAITS.items():
            days = (pl.col(later).cast(pl.Date) - pl.col(earlier).cast(pl.Date)).dt.total_days()
            self._waits[name].append(
                batch.select(pl.col("modality"), days.alias("days")).drop_nulls("days")
                .group_by(["modality", "days"]).agg(pl.len().alias("n")))

    def clear(self) -> None:
        """Forget what was added (a file rejected after some batches were stored)."""
        self._groups = []
        self._waits = {name: [] for name in WAITS}

    def record_counts(self) -> dict[str, dict[str, int]]:
        """The records by modality, then site, as the engine's report counts them
        (``count_records``: ``{"CT": {"RR801": 412}}``), from the same groups."""
        counts: dict[str, dict[str, int]] = {}
        if self._groups:
            summed = (pl.concat(self._groups).group_by("modality", "site_code")
                      .agg(pl.col("n").sum()).sort("modality", "site_code", nulls_last=True))
            add_record_counts(summed.iter_rows(), counts)
        return counts

    def result(self) -> dict[str, Any]:
        """``groups``: [site, setting, modality, records]; ``waits``: name -> modality ->
        {days: records} (JSON: the days as text)."""
        groups: list[list[Any]] = []
        if self._groups:
            summed = (pl.concat(self._groups).group_by(list(GROUP_KEYS)).agg(pl.col("n").sum())
                      .sort(list(GROUP_KEYS), nulls_last=True))
            groups = [list(row) for row in summed.iter_rows()]
        waits: dict[str, dict[str, dict[str, int]]] = {}
        for name, parts in self._waits.items():
            waits[name] = {}
            if parts:
                summed = (pl.concat(parts).group_by(["modality", "days"]).agg(pl.col("n").sum())
                          .sort(["modality", "days"]))
                for modality, days, n in summed.iter_rows():
                    waits[name].setdefault(modality, {})[str(days)] = int(n)
        return {"groups": groups, "waits": waits}
