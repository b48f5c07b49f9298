"""How a file is read: headers, column order, BOM, CRLF, quoting, spaces and line numbers."""

from __future__ import annotations

import io
from datetime import date

from submissions.engine import generate_file, load_layouts, validate
from submissions.engine.source import Source

from .conftest import GOLDEN, context_for

MONTH = date(2026, 2, 1)
CLEAN = (GOLDEN / "v1.0" / "clean.csv").read_text()
HEADER, *RECORDS = CLEAN.strip("\n").split("\n")


def with_cell(record: str, index: int, value: str) -> str:
    cells = record.split(",")
    cells[index] = value
    return ",".join(cells)


def run(text: str, reference, *, encoding: str = "utf-8"):
    return validate(io.BytesIO(text.encode(encoding)), context=context_for(MONTH), reference=reference)


def test_a_file_without_a_header_is_read_in_tos_order(reference):
    report = run("\n".join(RECORDS) + "\n", reference)
    assert report.findings == [] and report.accepted_rows == 12


def test_without_a_header_the_first_record_is_line_one(reference):
    records = RECORDS[:]
    records[2] = with_cell(records[2], 1, "1")
    report = run("\n".join(records), reference)
    assert report.rules_at(3) == {"DIDS003"}


def test_with_a_header_columns_may_come_in_any_order(reference):
    cells = [line.split(",") for line in CLEAN.strip("\n").split("\n")]
    order = list(reversed(range(len(cells[0]))))
    text = "\n".join(",".join(row[i] for i in order) for row in cells)
    got = []
    report = validate(io.BytesIO(text.encode()), context=context_for(MONTH), reference=reference,
                      on_clean_batch=got.append)
    assert report.findings == [] and got[0]["site_code"].to_list()[0] == RECORDS[0].split(",")[16]


def test_header_cells_may_be_nhs_dd_names_in_any_case(reference):
    layout = load_layouts()["1.0"]
    header = ",".join(it.nhs_dd.lower() if n % 2 else it.nhs_dd for n, it in enumerate(layout.items))
    report = run("\n".join([header, *RECORDS]), reference)
    assert report.findings == [] and report.rows == 12


def test_a_bom_crlf_line_ends_quoting_and_surrounding_spaces_are_accepted(reference):
    quoted = [",".join((f'" {c} "' if n % 2 else f"  {c}\t") if c else c for n, c in enumerate(r.split(",")))
              for r in RECORDS]
    text = "\ufeff" + "\r\n".join([HEADER, *quoted]) + "\r\n"
    got = []
    report = validate(io.BytesIO(text.encode()), context=context_for(MONTH), reference=reference,
                      on_clean_batch=got.append)
    assert report.findings == [] and report.accepted_rows == 12
    assert got[0]["accession_number"][0] == RECORDS[0].split(",")[17]


def test_leading_zeros_are_significant(reference):
    records = RECORDS[:]
    records[0] = with_cell(records[0], 7, "4")
    report = run("\n".join([HEADER, *records]), reference)
    assert report.rules_at(2) == {"DIDS021"}


def test_a_record_after_a_multi_line_quoted_field_keeps_its_file_line_number(reference):
    records = RECORDS[:]
    cells = records[1].split(",")
    cells[17] = '"ACC\nWITH\nBREAKS"'
    records[1] = ",".join(cells)
    records[4] = with_cell(records[4], 1, "1")
    report = run("\n".join([HEADER, *records]), reference)
    # record 2 spans lines 3-5, so record 5 starts on line 8
    assert report.rules_at(8) == {"DIDS003"}
    assert report.rules_at(3) == set() and len(report.findings) == 1


def test_a_multi_line_record_is_reported_at_its_first_line(reference):
    records = RECORDS[:]
    cells = records[1].split(",")
    cells[3] = '"W\nX"'
    records[1] = ",".join(cells)
    report = run("\n".join([HEADER, *records]), reference)
    assert report.rules_at(3) == {"DIDS012"}
    assert len(report.findings) == 1


def test_blank_lines_are_skipped_but_still_counted(reference):
    records = RECORDS[:]
    records[3] = with_cell(records[3], 1, "1")
    text = "\n".join([HEADER, RECORDS[0], "", "", *records[1:]])
    report = run(text, reference)
    assert report.rows == 12
    assert report.rules_at(7) == {"DIDS003"}


def test_line_numbers_stay_right_across_batches(reference, monkeypatch):
    import submissions.engine.reader as reader

    monkeypatch.setattr(reader, "BATCH_ROWS", 3)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 10)
    records = RECORDS * 20
    records = [r.replace("RR826", f"RR8{n:03d}") for n, r in enumerate(records)]
    cells = records[5].split(",")
    cells[17] = '"A\nB"'
    records[5] = ",".join(cells)
    records[200] = with_cell(records[200], 1, "1")
    report = run("\n".join([HEADER, *records]), reference)
    assert report.rows == 240
    assert report.rules_at(203) == {"DIDS003"}


def test_batches_start_small_grow_and_shrink_again_at_the_end_of_the_file(reference, tmp_path,
                                                                         monkeypatch):
    """Small first and last batches let checking and storing start and finish together."""
    import submissions.engine.reader as reader

    monkeypatch.setattr(reader, "FIRST_BATCH_ROWS", 500)
    monkeypatch.setattr(reader, "BATCH_ROWS", 4_000)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 14)
    path = tmp_path / "f.csv"
    generate_file(path, rows=30_000, org="RR8", month=MONTH, dataset_version="1.0",
                  reference=reference, error_rate=0.0, seed=3)
    for source in (path, io.BytesIO(path.read_bytes())):  # a path, and an upload's file object
        src = Source(source, max_ratio=100, max_bytes=10**9)
        plan = reader.plan_columns(reader.read_head(src), load_layouts(), "1.0")
        sizes = [b.height for b in reader.stream_batches(src, plan, reader.StreamState(), max_field=10_000)]
        assert sum(sizes) == 30_000
        assert sizes[0] < 1_000 and max(sizes) >= 4_000
        assert sizes[-1] < 1_000, sizes


def test_how_a_file_is_cut_into_batches_never_changes_the_report(reference, tmp_path,
                                                                 monkeypatch):
    import submissions.engine.reader as reader

    path = tmp_path / "f.csv"
    generate_file(path, rows=20_000, org="RR8", month=MONTH, dataset_version="1.0",
                  reference=reference, error_rate=0.03, seed=5)

    def report():
        stored: list[int] = []  # a consumer of accepted rows: batches ramp as for storing
        result = validate(path, context=context_for(MONTH), reference=reference,
                          on_clean_batch=lambda batch: stored.extend(batch["line"]))
        return (result.counts_by_rule, [(f.line, f.rule, f.message) for f in result.findings],
                stored)

    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 12)
    monkeypatch.setattr(reader, "FIRST_BATCH_ROWS", 100)
    monkeypatch.setattr(reader, "BATCH_ROWS", 3_000)
    many = report()
    monkeypatch.setattr(reader, "FIRST_BATCH_ROWS", 10**9)
    monkeypatch.setattr(reader, "BATCH_ROWS", 10**9)
    one = report()
    assert many == one and sum(many[0].values()) > 100


def test_a_check_on_threads_reports_what_one_thread_does_across_many_batches(reference, tmp_path,
                                                                            monkeypatch):
    """With threads, reading, preparing (with the duplicate keys) and checking are three
    stages at once: the findings and counts stay those of one thread, in file order."""
    import submissions.engine.reader as reader

    path = tmp_path / "f.csv"
    generate_file(path, rows=20_000, org="RR8", month=MONTH, dataset_version="1.0",
                  reference=reference, error_rate=0.03, seed=7)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 12)
    monkeypatch.setattr(reader, "BATCH_ROWS", 1_000)

    def report(use_threads: bool):
        result = validate(path, context=context_for(MONTH), reference=reference, use_threads=use_threads)
        return (result.counts_by_rule, result.rejected_rows,
                [(f.line, f.rule, f.message) for f in result.findings])

    threads, one = report(True), report(False)
    assert threads == one and threads[0].get("DIDS071", 0) > 0


def test_a_source_s_size_is_known_without_moving_a_reader_of_its_file_object(tmp_path):
    """pyarrow may read ahead from another thread: asking the size must not seek the object."""
    data = ("\n".join([HEADER, *RECORDS]) + "\n").encode()
    upload = io.BytesIO(b"xx" + data)
    upload.seek(2)  # an upload whose CSV starts after some bytes already read
    src = Source(upload, max_ratio=100, max_bytes=10**9)
    upload.seek(7)  # as if a reader were part-way through
    assert src.size == len(data)
    assert upload.tell() == 7
