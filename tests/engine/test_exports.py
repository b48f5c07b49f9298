"""Files as Excel and RIS exports leave them: non-breaking spaces, a `sep=,` line, empty
trailing columns and lines of only spaces are read past, and line numbers stay the file's."""

from __future__ import annotations

import io
from datetime import date

import pytest

from submissions.engine import validate

from .conftest import GOLDEN, context_for

MONTH = date(2026, 2, 1)
CLEAN = (GOLDEN / "v1.0" / "clean.csv").read_text()
HEADER, *RECORDS = CLEAN.strip("\n").split("\n")
NBSP = "\u00a0"
SITE, NHS, STATUS, POSTCODE = 16, 0, 1, 5  # v1.0 column positions (from 0)


def with_cell(record: str, index: int, value: str) -> str:
    cells = record.split(",")
    cells[index] = value
    return ",".join(cells)


def bad_status(records: list[str], index: int) -> list[str]:
    """The records with an NHS number status that is not on its list at `index` (DIDS003)."""
    out = records[:]
    out[index] = with_cell(out[index], STATUS, "1")
    return out


def run(text: str, reference, **kw):
    return validate(io.BytesIO(text.encode()), context=context_for(MONTH), reference=reference, **kw)


def test_non_breaking_spaces_around_a_site_code_are_trimmed(reference):
    records = RECORDS[:]
    site = records[0].split(",")[SITE]
    records[0] = with_cell(records[0], SITE, f"{NBSP}{site}{NBSP}")
    got = []
    report = run("\n".join([HEADER, *records]), reference, on_clean_batch=got.append)
    assert report.findings == [] and report.accepted_rows == 12
    assert got[0]["site_code"][0] == site


def test_a_non_breaking_space_after_an_nhs_number_is_trimmed(reference):
    records = RECORDS[:]
    nhs = records[3].split(",")[NHS]
    records[3] = with_cell(records[3], NHS, f"{nhs}{NBSP}")
    report = run("\n".join([HEADER, *records]), reference)
    assert report.findings == [] and report.accepted_rows == 12


def test_blanks_around_a_postcode_are_trimmed_where_every_postcode_has_an_inner_space(reference):
    """A column is trimmed when a value may start or end with a blank, not for inner spaces."""
    records = RECORDS[:]
    postcodes = [r.split(",")[POSTCODE] for r in records]
    assert all(" " in p.strip() for p in postcodes)
    records[4] = with_cell(records[4], POSTCODE, f"{postcodes[4]}\t")
    records[7] = with_cell(records[7], POSTCODE, f"{NBSP}{postcodes[7]}")
    got = []
    report = run("\n".join([HEADER, *records]), reference, on_clean_batch=got.append)
    assert report.findings == [] and report.accepted_rows == 12
    assert got[0]["postcode"].to_list() == postcodes
    untouched = []
    assert run("\n".join([HEADER, *RECORDS]), reference, on_clean_batch=untouched.append).findings == []
    assert untouched[0]["postcode"].to_list() == postcodes


def test_a_cell_of_only_non_breaking_spaces_is_empty(reference):
    records = RECORDS[:]
    records[2] = with_cell(records[2], SITE, NBSP * 2)
    report = run("\n".join([HEADER, *records]), reference)
    assert report.rules_at(4) == {"DIDS067"}


def test_a_first_line_sep_comma_is_skipped_and_lines_stay_the_file_s(reference):
    report = run("\n".join(["sep=,", HEADER, *bad_status(RECORDS, 2)]), reference)
    assert not report.file_rejected and report.rows == 12
    # sep=, is line 1, the header line 2, so the third record is line 5
    assert report.rules_at(5) == {"DIDS003"} and len(report.findings) == 1


def test_a_sep_comma_line_is_skipped_before_records_without_a_header(reference):
    report = run("\ufeff" + "\r\n".join(["sep=,", *bad_status(RECORDS, 0)]), reference)
    assert report.rows == 12 and report.rules_at(2) == {"DIDS003"}


def test_a_sep_line_naming_another_separator_is_rejected_saying_so(reference):
    report = run("\n".join(["sep=;", HEADER.replace(",", ";")]), reference)
    [finding] = report.findings
    assert (finding.rule, finding.line) == ("P003", 1)
    assert "'sep=;'" in finding.message and "separated by commas" in finding.message


def test_empty_trailing_columns_with_empty_headers_are_ignored(reference):
    text = "\n".join(line + ",,," for line in [HEADER, *bad_status(RECORDS, 4)])
    got = []
    report = run(text, reference, on_clean_batch=got.append)
    assert not report.file_rejected and report.rows == 12
    assert report.rules_at(6) == {"DIDS003"} and len(report.findings) == 1
    assert not any(c.startswith("_trailing") for c in got[0].columns)


def test_empty_trailing_columns_are_ignored_in_a_file_without_a_header(reference):
    report = run("\n".join(line + ",," for line in RECORDS), reference)
    assert report.findings == [] and report.accepted_rows == 12


def test_a_value_in_an_empty_trailing_column_is_rejected_at_its_line(reference):
    lines = [line + ",," for line in [HEADER, *RECORDS]]
    lines[7] = lines[7] + "stray"
    report = run("\n".join(lines), reference)
    [finding] = [f for f in report.findings if f.severity == "file"]
    assert (finding.rule, finding.line) == ("DIDS075", 8)
    assert "column 20" in finding.message and "names only 18 columns" in finding.message


def test_a_line_of_only_spaces_is_skipped_like_an_empty_line(reference):
    records = bad_status(RECORDS, 5)
    text = "\n".join([HEADER, *records[:2], "   ", "\t", *records[2:]])
    report = run(text, reference)
    assert not report.file_rejected and report.rows == 12
    # records 1-2 are lines 2-3, the blank lines 4-5, so the sixth record is line 9
    assert report.rules_at(9) == {"DIDS003"} and len(report.findings) == 1


def test_lines_of_only_spaces_keep_line_numbers_right_across_batches(reference, monkeypatch):
    import submissions.engine.reader as reader

    monkeypatch.setattr(reader, "BATCH_ROWS", 3)
    monkeypatch.setattr(reader, "FIRST_BATCH_ROWS", 3)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 10)
    records = [r.replace("RR826", f"RR8{n:03d}") for n, r in enumerate(RECORDS * 10)]
    records = bad_status(records, 100)
    lines = [HEADER]
    for n, record in enumerate(records):
        lines.append(record)
        if n % 7 == 0:
            lines.append("  ")
    report = run("\n".join(lines), reference)
    assert report.rows == 120
    # record 101 (index 100) follows 15 blank lines (after records 0, 7, ..., 98)
    assert report.rules_at(1 + 101 + 15) == {"DIDS003"} and len(report.findings) == 1


@pytest.mark.parametrize("use_threads", [False, True], ids=["one thread", "threads"])
def test_a_line_of_only_spaces_gives_the_same_report_with_threads(reference, use_threads):
    text = "\n".join([HEADER, RECORDS[0], " ", *bad_status(RECORDS, 3)[1:]])
    report = run(text, reference, use_threads=use_threads)
    assert report.rules_at(6) == {"DIDS003"} and len(report.findings) == 1


def test_blank_lines_before_the_header_are_skipped_and_counted(reference):
    report = run("\n".join(["", "  ", HEADER, *bad_status(RECORDS, 0)]), reference)
    assert report.rows == 12 and report.rules_at(4) == {"DIDS003"}


def test_an_excel_export_reads_like_the_file_it_was_made_from(reference):
    lines = ["sep=,", *(line + "," for line in [HEADER, *bad_status(RECORDS, 8)])]
    lines.insert(5, "    " + "," * 18)
    text = "\ufeff" + "\r\n".join(lines) + "\r\n"
    report = run(text, reference)
    # sep=, 1, header 2, records 1-3 lines 3-5, the blank line 6, record 9 is line 12
    assert report.rules_at(12) == {"DIDS003"} and len(report.findings) == 1
    assert report.accepted_rows == 11


def test_a_record_without_the_empty_trailing_columns_is_rejected_saying_what_the_header_has(reference):
    lines = [line + ",," for line in [HEADER, *RECORDS]]
    lines[3] = RECORDS[2]
    report = run("\n".join(lines), reference)
    [finding] = [f for f in report.findings if f.severity == "file"]
    assert (finding.rule, finding.line) == ("DIDS075", 4)
    assert finding.message == ("Line 4 has 18 columns, expected 20 like the header row "
                               "(18 named and 2 empty at the end)")


def test_a_short_line_of_empty_cells_is_skipped_like_an_empty_line(reference):
    text = "\n".join([HEADER, RECORDS[0], ", ,,", *bad_status(RECORDS, 1)[1:]])
    report = run(text, reference)
    assert not report.file_rejected
    assert report.rules_at(4) == {"DIDS003"} and len(report.findings) == 1
