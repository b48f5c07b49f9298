"""Files that are bad as a whole: each is rejected with a file-level finding, never an exception."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from submissions.engine import generate_file, validate

from .conftest import GOLDEN, context_for

MONTH = date(2026, 2, 1)
CLEAN = (GOLDEN / "v1.0" / "clean.csv").read_bytes()
HEADER, *RECORDS = CLEAN.decode().strip("\n").split("\n")


def check(data: bytes | io.BytesIO, reference, **kw):
    source = data if isinstance(data, io.BytesIO) else io.BytesIO(data)
    return validate(source, context=context_for(MONTH, **kw), reference=reference)


def only(report):
    assert report.file_rejected
    file_findings = [f for f in report.findings if f.severity == "file"]
    assert len(file_findings) == 1, report.to_dict()
    return file_findings[0]


def test_an_empty_file_is_rejected_as_having_no_records(reference):
    assert only(check(b"", reference)).rule == "P002"


def test_a_file_of_blank_lines_is_rejected_as_having_no_records(reference):
    assert only(check(b"\r\n\n  \n", reference)).rule == "P002"


def test_a_header_without_records_is_rejected_as_having_no_records(reference):
    assert only(check(HEADER.encode() + b"\n", reference)).rule == "P002"


def test_a_file_that_is_not_utf8_is_rejected_with_the_line_of_the_first_bad_byte(reference):
    data = "\n".join([HEADER, *RECORDS[:3], RECORDS[3].replace("A,", "Zoë,", 1)]).encode("cp1252")
    finding = only(check(data, reference))
    assert (finding.rule, finding.line) == ("P001", 5)


def test_a_utf16_file_is_rejected_as_not_utf8(reference):
    assert only(check(CLEAN.decode().encode("utf-16"), reference)).rule == "P001"


def test_an_unknown_header_column_is_named(reference):
    finding = only(check(CLEAN.replace(b"postcode,", b"post_code,", 1), reference))
    assert finding.rule == "DIDS075"
    assert finding.message == (
        "The header row does not match the v1.0 layout: the column 'post_code' is not a column "
        "of the v1.0 layout; the column 'postcode' (postcode of usual address) is missing")


def test_a_missing_header_column_is_named(reference):
    cut = b"\n".join(b",".join(line.split(b",")[:-1]) for line in CLEAN.strip(b"\n").split(b"\n"))
    finding = only(check(cut, reference))
    assert finding.rule == "DIDS075" and "the column 'accession_number' (radiological accession number) is missing" in finding.message


def test_an_extra_header_column_is_named(reference):
    extra = b"\n".join(line + b",x" for line in CLEAN.strip(b"\n").split(b"\n"))
    extra = extra.replace(b"accession_number,x", b"accession_number,comment", 1)
    finding = only(check(extra, reference))
    assert finding.rule == "DIDS075" and "'comment'" in finding.message


def test_a_duplicate_header_column_is_named(reference):
    finding = only(check(CLEAN.replace(b"gender,", b"ethnic_category,", 1), reference))
    assert finding.rule == "DIDS075"
    assert "the column 'ethnic_category' (ethnic category) is named more than once" in finding.message
    assert "the column 'gender' (person gender code current) is missing" in finding.message


def test_a_headerless_file_with_the_wrong_column_count_is_rejected(reference):
    data = "\n".join(r + ",extra" for r in RECORDS).encode()
    finding = only(check(data, reference))
    assert finding.rule == "DIDS075" and "19 columns" in finding.message


def test_a_ragged_record_is_rejected_at_its_line(reference):
    lines = [HEADER, *RECORDS]
    lines[6] = lines[6].rsplit(",", 1)[0]
    finding = only(check("\n".join(lines).encode(), reference))
    assert (finding.rule, finding.line) == ("DIDS075", 7)


def test_an_unterminated_quote_is_rejected_at_the_line_it_opens(reference):
    lines = [HEADER, *RECORDS]
    lines[8] = lines[8].replace(",RR8", ',"RR8', 1)
    finding = only(check("\n".join(lines).encode(), reference))
    assert (finding.rule, finding.line) == ("P003", 9)
    assert "unterminated" in finding.message


def test_a_nul_byte_is_rejected_at_its_line(reference):
    lines = [HEADER, *RECORDS]
    lines[3] = lines[3].replace(",0", ",\x000", 1)
    finding = only(check("\n".join(lines).encode(), reference))
    assert (finding.rule, finding.line) == ("P003", 4)


def test_a_field_over_ten_thousand_characters_is_rejected(reference):
    lines = [HEADER, *RECORDS]
    lines[2] = lines[2].rsplit(",", 1)[0] + "," + "A" * 10_001
    finding = only(check("\n".join(lines).encode(), reference))
    assert (finding.rule, finding.line) == ("P003", 3)


def test_a_field_of_exactly_ten_thousand_characters_is_a_record_error_not_a_file_error(reference):
    lines = [HEADER, *RECORDS]
    lines[2] = lines[2].rsplit(",", 1)[0] + "," + "A" * 10_000
    report = check("\n".join(lines).encode(), reference)
    assert not report.file_rejected
    assert report.rules_at(3) == {"DIDS072"}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_zip_holding_one_csv_is_read(reference):
    report = check(_zip({"dids.csv": CLEAN}), reference)
    assert not report.file_rejected and report.accepted_rows == 12


@pytest.mark.parametrize("members", [{}, {"a.csv": CLEAN, "b.csv": CLEAN}], ids=["no file", "two files"])
def test_a_zip_not_holding_exactly_one_csv_is_rejected(reference, members):
    finding = only(check(_zip(members), reference))
    assert finding.rule == "P004" and f"holds {len(members)} files" in finding.message


def test_a_zip_bomb_is_rejected_before_it_is_inflated(reference):
    bomb = _zip({"dids.csv": CLEAN + b"0" * 5_000_000})
    finding = only(check(bomb, reference))
    assert finding.rule == "P004" and "compression ratio" in finding.message


def test_a_truncated_zip_is_rejected(reference):
    finding = only(check(_zip({"dids.csv": CLEAN})[:-40], reference))
    assert finding.rule == "P004"


def test_records_of_both_dataset_versions_in_one_file_are_rejected(reference):
    lines = [HEADER, *RECORDS]
    cells = lines[3].split(",")
    cells[12] = "2026-04-01"
    lines[3] = ",".join(cells)
    report = validate(io.BytesIO("\n".join(lines).encode()), context=context_for(date(2026, 4, 1), with_month=False),
                      reference=reference)
    assert only(report).rule == "P005"


def test_a_v1_layout_for_v2_activity_is_rejected_as_the_wrong_layout(reference):
    report = check(CLEAN, reference, with_month=False)
    assert not report.file_rejected
    v2_month = date(2026, 6, 1)
    report = validate(io.BytesIO(CLEAN), context=context_for(v2_month), reference=reference)
    finding = only(report)
    assert finding.rule == "DIDS075" and "v2.0" in finding.message


def test_a_file_whose_every_record_is_rejected_is_rejected(reference):
    data = "\n".join([HEADER, *(r.replace(",RR8", ",RJ1", 1) for r in RECORDS)]).encode()
    data = data.replace(b",RR8", b",RJ122").replace(b"RJ1,", b"RR8,")
    report = check(data, reference)
    assert report.accepted_rows == 0 and only(report).rule == "P006"


def test_a_missing_path_raises(reference, tmp_path):
    with pytest.raises(FileNotFoundError):
        validate(tmp_path / "nope.csv", context=context_for(MONTH), reference=reference)


def test_a_path_and_a_non_seekable_stream_read_the_same(reference, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(CLEAN)

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.inner = io.BytesIO(CLEAN)

        def readable(self):
            return True

        def readinto(self, b):
            data = self.inner.read(len(b))
            b[: len(data)] = data
            return len(data)

    a = validate(path, context=context_for(MONTH), reference=reference)
    b = validate(Pipe(), context=context_for(MONTH), reference=reference)
    assert a.to_dict() == b.to_dict()


def test_a_zip_holding_only_a_text_file_is_rejected_naming_it(reference):
    finding = only(check(_zip({"readme.txt": b"The DIDS extract for February.\n"}), reference))
    assert finding.rule == "P004"
    assert "readme.txt" in finding.message and "not a CSV file" in finding.message


def test_a_zip_holding_a_zip_is_rejected_naming_the_inner_zip(reference):
    inner = _zip({"dids.csv": CLEAN})
    finding = only(check(_zip({"dids-feb.zip": inner}), reference))
    assert finding.rule == "P004"
    assert "dids-feb.zip" in finding.message and "itself a zip" in finding.message


def test_the_macos_entries_of_a_zip_are_ignored(reference):
    archive = _zip({"dids.csv": CLEAN, "__MACOSX/._dids.csv": b"\x00\x05\x16\x07resource fork",
                    "__MACOSX/.DS_Store": b"\x00\x00\x00\x01Bud1"})
    report = check(archive, reference)
    assert not report.file_rejected and report.accepted_rows == 12


def test_a_zip_of_a_csv_and_another_file_names_both(reference):
    finding = only(check(_zip({"dids.csv": CLEAN, "notes.txt": b"x", "__MACOSX/._dids.csv": b"x"}), reference))
    assert finding.rule == "P004" and "holds 2 files (dids.csv, notes.txt)" in finding.message


V2_CLEAN = (GOLDEN / "v2.0" / "clean.csv").read_bytes()


def test_a_v2_file_for_a_v1_month_is_told_so_in_one_finding(reference):
    finding = only(check(V2_CLEAN, reference))
    assert finding.rule == "DIDS075" and finding.line == 1
    assert finding.message.startswith("February 2026 is a DIDS v1.0 month: send the v1.0 layout")
    assert "not a column" not in finding.message


def test_a_v1_file_for_a_v2_month_is_told_so_in_one_finding(reference):
    report = validate(io.BytesIO(CLEAN), context=context_for(date(2026, 6, 1)), reference=reference)
    assert only(report).message.startswith("June 2026 is a DIDS v2.0 month: send the v2.0 layout")


def test_a_v1_file_for_a_v2_month_is_pointed_to_the_converter(reference):
    with_header = only(validate(io.BytesIO(CLEAN), context=context_for(date(2026, 6, 1)),
                                reference=reference))
    records = b"\n".join(CLEAN.split(b"\n")[1:])
    headerless = only(validate(io.BytesIO(records), context=context_for(date(2026, 6, 1)),
                               reference=reference))
    for finding in (with_header, headerless):
        assert finding.rule == "DIDS075"
        assert finding.message.endswith(
            ". To rewrite a v1.0 file in the v2.0 layout, run the converter: dids-check convert "
            "FILE --output FILE-v2.csv (or manage.py dids_convert), then check and send the "
            "converted file")


def test_a_v1_layout_with_v2_activity_dates_is_pointed_to_the_converter(reference):
    june = CLEAN.replace(b"2026-02-", b"2026-06-")
    report = validate(io.BytesIO(june), context=context_for(date(2026, 6, 1), with_month=False),
                      reference=reference)
    finding = only(report)
    assert finding.rule == "DIDS075" and "need v2.0. To rewrite a v1.0 file" in finding.message


def test_a_v2_file_for_a_v1_month_is_not_pointed_to_the_converter(reference):
    assert "converter" not in only(check(V2_CLEAN, reference)).message


def test_a_v2_file_without_a_header_for_a_v1_month_is_told_so(reference):
    records = b"\n".join(V2_CLEAN.split(b"\n")[1:])
    finding = only(check(records, reference))
    assert finding.rule == "DIDS075"
    assert finding.message.startswith("February 2026 is a DIDS v1.0 month: send the v1.0 layout")
    assert "22 columns of v2.0" in finding.message


def _v2_april_with_a_march_record(reference, tmp_path) -> tuple[str, int]:
    path = tmp_path / "april.csv"
    generate_file(path, rows=12, org="RR8", month=date(2026, 4, 1), dataset_version="2.0",
                  reference=reference, seed=3)
    header, *records = path.read_text().strip("\n").split("\n")
    columns = header.split(",")
    cells = dict(zip(columns, records[4].split(","), strict=True))
    cells.update(procedure_start="2026-03-31T10:00:00+01:00", procedure_end="2026-03-31T10:20:00+01:00",
                 request_date="2026-03-02", request_received_date="2026-03-02")
    if cells["waiting_list_clock_start"]:
        cells["waiting_list_clock_start"] = "2026-03-02"
    records[4] = ",".join(cells[c] for c in columns)
    return "\n".join([header, *records]), 6


def test_a_v2_record_dated_in_march_2026_is_only_outside_the_month(reference, tmp_path):
    text, line = _v2_april_with_a_march_record(reference, tmp_path)
    report = validate(io.BytesIO(text.encode()), context=context_for(date(2026, 4, 1)), reference=reference)
    assert not report.file_rejected
    assert [(f.line, f.rule) for f in report.findings] == [(line, "P016")]


def test_a_v2_record_dated_in_march_2026_without_a_month_is_only_a_mixed_versions_file(reference, tmp_path):
    text, _ = _v2_april_with_a_march_record(reference, tmp_path)
    report = validate(io.BytesIO(text.encode()), context=context_for(date(2026, 4, 1), with_month=False),
                      reference=reference)
    assert [f.rule for f in report.findings] == ["P005"]


def test_a_file_rejected_as_a_whole_has_no_accepted_records(reference):
    lines = [HEADER.encode(), *(r.encode() for r in RECORDS)]
    lines[-1] = lines[-1].rsplit(b",", 1)[0]  # the last record is a column short
    report = check(b"\n".join(lines), reference)
    assert only(report).rule == "DIDS075"
    assert report.rows == 11 and report.accepted_rows == 0 and report.rejected_rows == 11


def test_the_file_level_finding_is_listed_whatever_the_findings_limit(reference):
    report = validate(io.BytesIO(CLEAN.replace(b"postcode,", b"post_code,", 1)), context=context_for(MONTH),
                      reference=reference, max_findings=0)
    assert [f.rule for f in report.findings] == ["DIDS075"]
