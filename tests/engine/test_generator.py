"""The generator: clean files raise nothing; planted errors are found exactly where planted."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date

import polars as pl
import pytest

from submissions.engine import generate_file, validate
from submissions.engine.identifiers import nhs_number_valid

from .conftest import context_for

SETTINGS = [("1.0", date(2025, 7, 1), "RR8"), ("1.0", date(2026, 3, 1), "RCD"), ("2.0", date(2026, 4, 1), "NT3"),
            ("2.0", date(2026, 10, 1), "RR8"), ("1.0", date(2024, 12, 1), "RJ1"), ("2.0", date(2027, 1, 1), "RXH")]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("version", "month", "org"), SETTINGS, ids=[f"v{v}-{m:%Y-%m}-{o}" for v, m, o in SETTINGS])
def test_a_clean_generated_file_raises_no_finding(reference, version, month, org, seed):
    buf = io.BytesIO()
    assert generate_file(buf, rows=400, org=org, month=month, dataset_version=version, reference=reference,
                         seed=seed) == []
    buf.seek(0)
    report = validate(buf, context=context_for(month, org=org), reference=reference)
    assert report.findings == [], report.to_dict()["findings"][:5]
    assert report.accepted_rows == 400 and report.dataset_version == version


@pytest.mark.parametrize(("version", "month", "org"), SETTINGS[:4], ids=[f"v{v}-{m:%Y-%m}-{o}" for v, m, o in SETTINGS[:4]])
def test_planted_errors_are_found_at_their_lines_and_nothing_else_is(reference, version, month, org):
    buf = io.BytesIO()
    planted = generate_file(buf, rows=3000, org=org, month=month, dataset_version=version, reference=reference,
                            seed=11, error_rate=0.04)
    assert len(planted) > 100
    buf.seek(0)
    report = validate(buf, context=context_for(month, org=org), reference=reference)
    found = defaultdict(set)
    for f in report.findings:
        found[f.line].add(f.rule)
    assert {p.line: {p.rule, *p.also} for p in planted} == dict(found)


def test_generated_files_are_realistic(reference):
    buf = io.BytesIO()
    generate_file(buf, rows=5000, org="RR8", month=date(2026, 2, 1), dataset_version="1.0", reference=reference,
                  seed=3)
    df = pl.read_csv(io.BytesIO(buf.getvalue()), infer_schema=False)
    nhs = df["nhs_number"].drop_nulls()
    assert all(nhs_number_valid(n) and not n.startswith("9") for n in nhs.to_list())
    assert set(df["site_code"].unique()) <= {s.code for s in reference.sites.values() if s.organisation == "RR8"}
    shares = df["patient_source_setting"].value_counts(normalize=True)
    assert shares.height == 7
    assert df["nicip_code"].drop_nulls().n_unique() > 30
    assert df["accession_number"].n_unique() == df.height


def test_the_same_seed_writes_the_same_file(reference):
    a, b = io.BytesIO(), io.BytesIO()
    for buf in (a, b):
        generate_file(buf, rows=300, org="RR8", month=date(2026, 2, 1), dataset_version="2.0" if False else "1.0",
                      reference=reference, seed=42, error_rate=0.1)
    assert a.getvalue() == b.getvalue()
