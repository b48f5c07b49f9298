"""The statistics' tally counts the stored records by modality and site exactly as the
engine's report does (the ingest takes the version's record_counts from the tally)."""

from __future__ import annotations

import io
from datetime import date

import pytest

from submissions.engine import ReferenceSnapshot, generate_file, validate
from submissions.tally import StatisticsTally
from tests.engine.conftest import SAMPLE, context_for


@pytest.mark.parametrize(("version", "month"), [("1.0", date(2026, 2, 1)), ("2.0", date(2026, 10, 1))])
def test_the_tally_counts_records_by_modality_and_site_as_the_report_does(version: str,
                                                                          month: date) -> None:
    reference = ReferenceSnapshot.from_directory(SAMPLE)
    data = io.BytesIO()
    generate_file(data, rows=3000, org="RR8", month=month, dataset_version=version,
                  reference=reference, error_rate=0.05, seed=15)
    tally = StatisticsTally()
    data.seek(0)
    counted = validate(data, context=context_for(month), reference=reference,
                       on_clean_batch=tally.add, max_findings=0)
    assert counted.accepted_rows and not counted.file_rejected
    assert len(counted.record_counts) > 1  # more than one modality, so the grouping is tested
    assert tally.record_counts() == counted.record_counts
    data.seek(0)
    uncounted = validate(data, context=context_for(month), reference=reference,
                         on_clean_batch=lambda batch: None, max_findings=0, record_counts=False)
    assert uncounted.record_counts == {} and uncounted.accepted_rows == counted.accepted_rows
