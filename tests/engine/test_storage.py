"""Accepted rows reach on_clean_batch in the storage shape, normalised."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import polars as pl

from submissions.engine import STORAGE_COLUMNS, generate_file, validate

from .conftest import GOLDEN, context_for

TYPES = {"text": pl.String, "date": pl.Date, "timestamp": pl.Datetime("us", "UTC"), "int": pl.Int64}


def clean_rows(data: bytes, reference, month: date, **kw) -> tuple[object, pl.DataFrame]:
    got: list[pl.DataFrame] = []
    report = validate(io.BytesIO(data), context=context_for(month), reference=reference,
                      on_clean_batch=got.append, **kw)
    return report, pl.concat(got) if got else pl.DataFrame()


def test_clean_batches_have_exactly_the_storage_columns_and_types(reference):
    for version, month in (("1.0", date(2026, 2, 1)), ("2.0", date(2026, 10, 1))):
        _, df = clean_rows((GOLDEN / f"v{version}" / "clean.csv").read_bytes(), reference, month)
        assert [(n, df.schema[n]) for n in df.columns] == [(n, TYPES[t]) for n, t in STORAGE_COLUMNS]
        assert df["dataset_version"].unique().to_list() == [version]
        assert df["line"].to_list() == list(range(2, 14))


def test_items_of_the_other_version_are_null(reference):
    _, v1 = clean_rows((GOLDEN / "v1.0" / "clean.csv").read_bytes(), reference, date(2026, 2, 1))
    assert v1["procedure_start"].null_count() == v1.height
    _, v2 = clean_rows((GOLDEN / "v2.0" / "clean.csv").read_bytes(), reference, date(2026, 10, 1))
    assert v2["test_date"].null_count() == v2.height and v2["report_date"].null_count() == v2.height


def test_values_are_normalised_for_storage(reference):
    header, first, *rest = (GOLDEN / "v1.0" / "clean.csv").read_text().strip("\n").split("\n")
    cells = first.split(",")
    cells[0] = f"{cells[0][:3]} {cells[0][3:6]}-{cells[0][6:]}"
    cells[5] = "ls17  8qr"
    cells[8] = "dr who"
    report, df = clean_rows("\n".join([header, ",".join(cells), *rest]).encode(), reference, date(2026, 2, 1))
    row = df.row(0, named=True)
    assert row["nhs_number"] == first.split(",")[0]
    assert row["postcode"] == "LS17 8QR"
    assert row["referrer_code"] == "99"
    assert row["warnings"] == "DIDS023"
    assert df["warnings"].null_count() == df.height - 1
    assert report.accepted_rows == 12


def test_v2_timestamps_are_stored_in_utc_and_the_activity_date_is_the_local_date(reference):
    header, first, *rest = (GOLDEN / "v2.0" / "clean.csv").read_text().strip("\n").split("\n")
    cols = header.split(",")
    cells = first.split(",")
    cells[cols.index("procedure_start")] = "2026-10-10T00:30:00+01:00"
    cells[cols.index("procedure_end")] = "2026-10-10T00:50:00+01:00"
    cells[cols.index("report_issued")] = "2026-10-12T09:00:00Z"
    for item in ("request_date", "request_received_date", "waiting_list_clock_start"):
        cells[cols.index(item)] = "2026-10-09" if cells[cols.index(item)] else ""
    _, df = clean_rows("\n".join([header, ",".join(cells), *rest]).encode(), reference, date(2026, 10, 1))
    row = df.row(0, named=True)
    assert row["procedure_start"] == datetime(2026, 10, 9, 23, 30, tzinfo=UTC)
    assert row["activity_date"] == date(2026, 10, 10)
    assert row["report_day"] == date(2026, 10, 12)


def test_the_modality_comes_from_nicip_then_snomed_then_other(reference):
    header, *records = (GOLDEN / "v1.0" / "clean.csv").read_text().strip("\n").split("\n")
    rows = []
    for nicip, snomed in (("MBRAI", ""), ("", "45036003"), ("", "873601000"), ("CCHES", "169069000")):
        cells = records[len(rows)].split(",")
        cells[13], cells[14] = nicip, snomed
        rows.append(",".join(cells))
    _, df = clean_rows("\n".join([header, *rows]).encode(), reference, date(2026, 2, 1))
    assert df["modality"].to_list() == ["MRI", "US", "OTHER", "CT"]


def test_rejected_rows_never_reach_the_clean_batches(reference, tmp_path):
    path = tmp_path / "f.csv"
    planted = generate_file(path, rows=2000, org="RR8", month=date(2026, 2, 1), dataset_version="1.0",
                            reference=reference, seed=5, error_rate=0.05)
    report, df = clean_rows(path.read_bytes(), reference, date(2026, 2, 1))
    rejected_lines = {f.line for f in report.findings if f.severity == "reject"}
    assert df.height == report.accepted_rows == report.rows - len(rejected_lines)
    assert not rejected_lines & set(df["line"].to_list())
    assert planted
