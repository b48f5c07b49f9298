"""DIDS v1.0 to v2.0 conversion (engine and the offline ``dids-check convert``; no Django)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from submissions.engine import CheckContext, generate_file, validate
from submissions.engine.cli import main
from submissions.engine.context import LONDON
from submissions.engine.convert import NotVersionOne, convert, item_mappings, midnight
from submissions.engine.source import FileRejected

V1_HEADER = (
    "nhs_number,nhs_number_status,birth_date,ethnic_category,gender,postcode,gp_practice,"
    "patient_source_setting,referrer_code,referring_org,request_date,request_received_date,"
    "test_date,nicip_code,snomed_code,report_date,site_code,accession_number"
)
V2_HEADER = (
    "nhs_number,nhs_number_status,birth_date,ethnic_category,gender,postcode,gp_practice,"
    "patient_source_setting,referrer_code,referring_org,request_date,request_received_date,"
    "procedure_start,procedure_end,nicip_code,snomed_code,report_issued,site_code,"
    "accession_number,evaluation_indicator,activity_category,waiting_list_clock_start"
)
# Dates either side of the 2026 spring change (Sunday 29 March, 01:00 GMT) and the 2025
# autumn one (Sunday 26 October, 02:00 BST): midnight on 29 March is still GMT, midnight on
# 26 October still BST. One report date is not a date at all; a blank line is skipped.
V1_FILE = (
    "\n".join(
        [
            V1_HEADER,
            "6521264818,01,1961-08-26,A,1,BD3 8QY,G85002,03,G1314392,RR8,2026-03-02,2026-03-03,"
            "2026-03-29,CABPEC,574524007,2026-03-30,RR814,ACC1",
            "5757807970,01,1955-09-18,A,2,B15 1ZN,B86012,04,G4385309,RR8,2025-10-01,2025-10-02,"
            "2025-10-26,XWRIL,,2025-10-27,RR807,ACC2",
            "",
            ",,,,,SW1A 1AA,,01,,,,,2026-01-15,,290379009,,RR814,ACC3",
            "9434765919,01,1990-01-01,B,9,LS1 4AP,B86012,03,,RR8,2026-06-20,2026-06-21,"
            '2026-07-01,CABPEC,574524007,2026-02-30,RR814,"A,4"',
        ]
    )
    + "\n"
)
V2_FILE = (
    "\n".join(
        [
            V2_HEADER,
            "6521264818,01,1961-08-26,A,1,BD3 8QY,G85002,03,G1314392,RR8,2026-03-02,2026-03-03,"
            "2026-03-29T00:00:00+00:00,,CABPEC,574524007,2026-03-30T00:00:00+01:00,RR814,ACC1,,,",
            "5757807970,01,1955-09-18,A,2,B15 1ZN,B86012,04,G4385309,RR8,2025-10-01,2025-10-02,"
            "2025-10-26T00:00:00+01:00,,XWRIL,,2025-10-27T00:00:00+00:00,RR807,ACC2,,,",
            ",,,,,SW1A 1AA,,01,,,,,2026-01-15T00:00:00+00:00,,,290379009,,RR814,ACC3,,,",
            "9434765919,01,1990-01-01,B,9,LS1 4AP,B86012,03,,RR8,2026-06-20,2026-06-21,"
            '2026-07-01T00:00:00+01:00,,CABPEC,574524007,2026-02-30,RR814,"A,4",,,',
        ]
    )
    + "\n"
)


@pytest.fixture
def v1_file(tmp_path) -> Path:
    path = tmp_path / "march-v1.csv"
    path.write_text(V1_FILE, encoding="utf-8")
    return path


def by_item(report) -> dict[str, dict]:
    return {i["item"]: i for i in report.to_dict()["items"]}


def test_a_v1_file_is_rewritten_exactly_in_the_v2_layout(v1_file, tmp_path):
    out = tmp_path / "out.csv"
    convert(v1_file, out)
    assert out.read_text(encoding="utf-8") == V2_FILE


def test_the_output_file_is_made_as_any_other_file_is(v1_file, tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("x", encoding="utf-8")
    convert(v1_file, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").stat().st_mode == plain.stat().st_mode


def test_a_headerless_v1_file_in_tos_order_converts_the_same(tmp_path):
    source = tmp_path / "no-header.csv"
    source.write_text(V1_FILE.split("\n", 1)[1], encoding="utf-8")
    convert(source, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == V2_FILE


def test_a_v1_file_with_its_columns_in_another_order_or_in_a_zip_converts_the_same(tmp_path):
    rows = list(csv.reader(io.StringIO(V1_FILE)))
    reordered = io.StringIO()
    csv.writer(reordered, lineterminator="\n").writerows([row[::-1] for row in rows if row])
    archive = tmp_path / "march.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("march.csv", reordered.getvalue())
    convert(archive, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == V2_FILE


def test_the_mapping_follows_the_layouts_data():
    mapped = {m.item: (m.position, m.mapping, m.source, m.source_position) for m in item_mappings()}
    assert mapped["nhs_number"] == (1, "copied", "nhs_number", 1)
    assert mapped["request_received_date"] == (12, "copied", "request_received_date", 12)
    assert mapped["procedure_start"] == (13, "converted", "test_date", 13)
    assert mapped["nicip_code"] == (15, "copied", "nicip_code", 14)
    assert mapped["snomed_code"] == (16, "copied", "snomed_code", 15)
    assert mapped["report_issued"] == (17, "converted", "report_date", 16)
    assert mapped["site_code"] == (18, "copied", "site_code", 17)
    assert mapped["accession_number"] == (19, "copied", "accession_number", 18)
    empty = [item for item, (_, how, _, _) in mapped.items() if how == "empty"]
    assert empty == [
        "procedure_end",
        "evaluation_indicator",
        "activity_category",
        "waiting_list_clock_start",
    ]
    assert [m.position for m in item_mappings()] == list(range(1, 23))


def test_the_report_counts_the_records_each_item_mapping_affected(v1_file, tmp_path):
    report = convert(v1_file, tmp_path / "out.csv")
    items = by_item(report)
    assert report.records == 4
    assert items["nhs_number"] == {
        "position": 1,
        "item": "nhs_number",
        "nhs_dd": "NHS NUMBER",
        "mapping": "copied",
        "source": "nhs_number",
        "source_position": 1,
        "records": 3,
        "empty": 1,
        "description": "copied from nhs_number (v1.0 item 1)",
    }
    assert (items["snomed_code"]["records"], items["snomed_code"]["empty"]) == (3, 1)
    assert items["procedure_start"] == {
        "position": 13,
        "item": "procedure_start",
        "nhs_dd": "CODED PROCEDURE START TIMESTAMP",
        "mapping": "converted",
        "source": "test_date",
        "source_position": 13,
        "records": 4,
        "empty": 0,
        "summer": 2,
        "winter": 2,
        "not_converted": 0,
        "description": "converted from test_date (v1.0 item 13), a date, assuming local "
        "midnight Europe/London",
    }
    start = items["report_issued"]
    assert (
        start["records"],
        start["summer"],
        start["winter"],
        start["not_converted"],
        start["empty"],
    ) == (2, 1, 1, 1, 1)
    for item in (
        "procedure_end",
        "evaluation_indicator",
        "activity_category",
        "waiting_list_clock_start",
    ):
        assert (items[item]["mapping"], items[item]["records"], items[item]["description"]) == (
            "empty",
            4,
            "left empty: no v1.0 source",
        )


def test_the_printed_report_states_the_assumption_and_each_item(v1_file, tmp_path):
    text = convert(v1_file, tmp_path / "out.csv", source_name="march-v1.csv").text()
    lines = text.split("\n")
    assert (
        lines[0]
        == f"Converted march-v1.csv (DIDS v1.0, 4 records) to {tmp_path / 'out.csv'} (DIDS v2.0)."
    )
    assert lines[1].startswith(
        "Assumption: A v1.0 date has no time of day: it becomes the "
        "timestamp of local midnight (Europe/London)"
    )
    assert (
        "  13 procedure_start           converted from test_date (v1.0 item 13), a date, "
        "assuming local midnight Europe/London: 4 records (2 at +01:00; 2 at +00:00)" in lines
    )
    assert (
        "  17 report_issued             converted from report_date (v1.0 item 16), a date, "
        "assuming local midnight Europe/London: 2 records (1 at +01:00; 1 at +00:00; 1 not a "
        "valid date, copied as written; 1 empty)" in lines
    )
    assert "  14 procedure_end             left empty: no v1.0 source: 4 records" in lines
    assert (
        "  16 snomed_code               copied from snomed_code (v1.0 item 15): 3 records "
        "(1 empty)" in lines
    )


def test_midnight_has_london_s_utc_offset_of_that_day_from_2012_to_2030():
    days = [
        date(2012, 1, 1) + timedelta(days=n)
        for n in range((date(2031, 1, 1) - date(2012, 1, 1)).days)
    ]
    got = (
        pl.DataFrame({"d": [d.isoformat() for d in days]})
        .select(midnight("d", "%Y-%m-%d").alias("d"))["d"]
        .to_list()
    )
    zone = ZoneInfo("Europe/London")
    want = [datetime(d.year, d.month, d.day, tzinfo=zone).isoformat() for d in days]
    assert got == want


def test_a_clean_v1_file_converts_to_a_v2_file_with_no_finding(reference, tmp_path):
    source, out = tmp_path / "feb.csv", tmp_path / "feb-v2.csv"
    generate_file(
        source,
        rows=300,
        org="RR8",
        month=date(2026, 2, 1),
        dataset_version="1.0",
        reference=reference,
        seed=7,
    )
    convert(source, out)
    context = CheckContext(
        submitting_org="RR8",
        month=date(2026, 2, 1),
        dataset_version="2.0",
        as_of=datetime(2026, 3, 1, 12, tzinfo=LONDON),
    )
    report = validate(out, context=context, reference=reference)
    assert (report.file_rejected, report.dataset_version, report.rows, report.accepted_rows) == (
        False,
        "2.0",
        300,
        300,
    )
    assert report.counts_by_rule == {}


def test_the_converted_file_has_the_v2_layout_for_a_v2_month(v1_file, reference, tmp_path):
    out = tmp_path / "out.csv"
    convert(v1_file, out)
    context = CheckContext(
        submitting_org="RR8", month=date(2026, 7, 1), as_of=datetime(2026, 8, 1, 12, tzinfo=LONDON)
    )
    report = validate(out, context=context, reference=reference)
    assert report.dataset_version == "2.0" and "DIDS075" not in report.counts_by_rule
    # every timestamp is valid but the one written as it came, not being a date
    assert [(f.line, f.item) for f in report.findings if f.rule == "P010"] == [(5, "report_issued")]


def test_a_v2_file_is_not_converted_and_nothing_is_written(tmp_path):
    source, out = tmp_path / "v2.csv", tmp_path / "out.csv"
    source.write_text(V2_FILE, encoding="utf-8")
    with pytest.raises(NotVersionOne, match=r"the file has the DIDS v2\.0 layout already"):
        convert(source, out)
    assert list(tmp_path.iterdir()) == [source]


def test_a_ragged_v1_file_is_not_converted_and_nothing_is_written(v1_file, tmp_path):
    v1_file.write_text(V1_FILE.replace(",ACC3", ""), encoding="utf-8")
    with pytest.raises(FileRejected) as rejected:
        convert(v1_file, tmp_path / "out.csv")
    assert (rejected.value.problem.kind, rejected.value.problem.line) == ("file_layout", 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["march-v1.csv"]


def run_offline(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["convert", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_dids_check_convert_writes_the_file_prints_the_report_and_writes_its_json(
    v1_file, tmp_path
):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    code, stdout, _ = run_offline(str(v1_file), "--output", str(out), "--report", str(report))
    assert code == 0
    assert out.read_text(encoding="utf-8") == V2_FILE
    assert stdout.startswith(f"Converted {v1_file} (DIDS v1.0, 4 records)")
    document = json.loads(report.read_text())
    assert document["records"] == 4 and document["check"] is None
    assert [i["item"] for i in document["items"]] == V2_HEADER.split(",")


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "the following arguments are required: --output"),
        (
            ["--output", "{tmp}/no-such-folder/out.csv"],
            "the folder {tmp}/no-such-folder does not exist",
        ),
        (["--output", "{tmp}/out.csv", "--check"], "--check needs --org and --month"),
        (
            ["--output", "{tmp}/out.csv", "--check", "--org", "RR8", "--month", "2026-02"],
            "--check needs --reference",
        ),
        (["--output", "{tmp}/out.csv", "--org", "RR8"], "--org only with --check"),
        (
            [
                "--output",
                "{tmp}/out.csv",
                "--check",
                "--org",
                "RR8",
                "--month",
                "Feb",
                "--reference",
                "{tmp}/ref.json",
            ],
            "--month must be YYYY-MM, got 'Feb'",
        ),
        (["--output", "{tmp}/march-v1.csv"], "--output is the file being converted"),
        (["--output", "{tmp}/out.csv", "--max-findings", "-1"], "must be 0 or more"),
    ],
)
def test_misuse_of_dids_check_convert_exits_64_and_writes_nothing(
    v1_file, tmp_path, flags, message
):
    args = [f.format(tmp=tmp_path) for f in flags]
    code, stdout, stderr = run_offline(str(v1_file), *args)
    assert code == 64, stderr
    assert message.format(tmp=tmp_path) in stderr and "Traceback" not in stderr
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["march-v1.csv"]


def test_a_directory_as_the_file_is_misuse(tmp_path):
    code, _, stderr = run_offline(str(tmp_path), "--output", str(tmp_path / "out.csv"))
    assert code == 64 and "is a directory: give one DIDS v1.0 file" in stderr


def test_a_missing_file_or_a_v2_file_exits_2(tmp_path):
    assert run_offline(str(tmp_path / "none.csv"), "--output", str(tmp_path / "o.csv"))[0] == 2
    v2 = tmp_path / "v2.csv"
    v2.write_text(V2_FILE, encoding="utf-8")
    code, _, stderr = run_offline(str(v2), "--output", str(tmp_path / "o.csv"))
    assert code == 2 and "has the DIDS v2.0 layout already; nothing to convert" in stderr
    assert not (tmp_path / "o.csv").exists()
