"""Rule semantics the golden files do not pin down: time zones, grace periods, arrangements,
data-driven severities, reporting limits and the documentation data."""

from __future__ import annotations

import dataclasses
import io
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from submissions.engine import CheckContext, load_rules, rules_documentation, validate
from submissions.engine.checks import KINDS, STATEFUL_KINDS
from submissions.engine.rules import DATA_DIR, Rules

from .conftest import GOLDEN, context_for

V1 = (GOLDEN / "v1.0" / "clean.csv").read_text().strip("\n").split("\n")
V2 = (GOLDEN / "v2.0" / "clean.csv").read_text().strip("\n").split("\n")


def edit(lines: list[str], index: int, **values: str) -> bytes:
    cols = lines[0].split(",")
    out = lines[:]
    cells = out[index].split(",")
    for item, value in values.items():
        cells[cols.index(item)] = value
    out[index] = ",".join(cells)
    return "\n".join(out).encode()


def run(data: bytes, reference, ctx: CheckContext, **kw):
    return validate(io.BytesIO(data), context=ctx, reference=reference, **kw)


@pytest.mark.parametrize(("stamp", "ok"), [
    ("2026-10-10T10:00:00+01:00", True), ("2026-10-10T10:00:00Z", True), ("2026-10-10T10:00:00-00:00", True),
    ("2026-10-10T10:00:00+00:00", True), ("2026-10-10T10:00:00+02:00", False), ("2026-10-10 10:00:00Z", False),
    ("2026-10-10T10:00:00", False), ("2026-10-32T10:00:00Z", False),
])
def test_v2_timestamps_accept_only_the_listed_offsets(reference, stamp, ok):
    data = edit(V2, 1, procedure_end=stamp.replace("10:00", "10:20"), procedure_start=stamp)
    report = run(data, reference, context_for(date(2026, 10, 1)))
    assert (report.rules_at(2) == set()) is ok, report.to_dict()["findings"]


def test_the_submission_month_is_the_london_month_of_as_of(reference):
    # 23:30 UTC on 31 March is 00:30 BST on 1 April: the submission month is April
    ctx = CheckContext(submitting_org="RR8", as_of=datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    assert ctx.submission_month_start == date(2026, 4, 1)
    data = edit(V1, 1, test_date="2025-10-01", request_date="", request_received_date="", birth_date="",
                report_date="")
    assert run(data, reference, ctx).rules_at(2) == {"DIDS049"}
    data = edit(V1, 1, test_date="2025-09-30", request_date="", request_received_date="", birth_date="",
                report_date="")
    assert run(data, reference, ctx).rules_at(2) == {"DIDS055"}


def test_without_a_month_there_is_no_activity_month_check(reference):
    data = edit(V1, 1, test_date="2026-01-20")
    assert run(data, reference, context_for(date(2026, 2, 1))).rules_at(2) == {"P016"}
    assert run(data, reference, context_for(date(2026, 2, 1), with_month=False)).rules_at(2) == set()


def test_a_retired_imaging_code_is_valid_for_183_days_then_rejected(reference):
    # XCHEPO was retired on 2026-01-31: valid with a warning up to 2026-08-02, rejected after
    ctx = CheckContext(submitting_org="RR8", as_of=datetime(2026, 4, 15, 12, tzinfo=UTC))
    kept = dict(request_date="", request_received_date="", report_date="", snomed_code="", nicip_code="XCHEPO")
    assert run(edit(V1, 1, test_date="2026-03-31", **kept), reference, ctx).rules_at(2) == {"DIDS077"}
    v2 = dict(request_date="", request_received_date="", report_issued="", snomed_code="", nicip_code="XCHEPO",
              procedure_end="", waiting_list_clock_start="", activity_category="03")
    ctx2 = CheckContext(submitting_org="RR8", as_of=datetime(2026, 9, 1, 12, tzinfo=UTC), dataset_version="2.0")
    assert run(edit(V2, 1, procedure_start="2026-08-02T10:00:00+01:00", **v2), reference, ctx2).rules_at(2) == {
        "DIDS077"}
    assert run(edit(V2, 1, procedure_start="2026-08-03T10:00:00+01:00", **v2), reference, ctx2).rules_at(2) == {
        "DIDS057"}


def test_a_bureau_arrangement_lets_a_submitter_send_another_organisations_site(reference):
    data = edit(V1, 1, site_code="RCD01")
    assert run(data, reference, context_for(date(2026, 2, 1))).rules_at(2) == set()
    assert run(edit(V1, 1, site_code="RJ122"), reference, context_for(date(2026, 2, 1))).rules_at(2) == {"P011"}
    other = context_for(date(2026, 2, 1), org="RCD")
    assert run(edit(V1, 1, site_code="RCD01"), reference, other).rules_at(3) == {"P011"}


def test_code_lists_are_effective_dated(reference):
    snapshot = dataclasses.replace(reference, code_lists={
        **reference.code_lists, "person_gender": {**reference.code_lists["person_gender"],
                                                  "9": [(None, date(2026, 1, 31))]}})
    data = edit(V1, 1, gender="9")
    assert run(data, snapshot, context_for(date(2026, 2, 1))).rules_at(2) == {"DIDS014"}
    data = edit(V1, 1, gender="9", test_date="2026-01-31", request_date="", request_received_date="",
                report_date="")
    assert run(data, snapshot, context_for(date(2026, 2, 1), with_month=False)).rules_at(2) == set()


def test_changing_a_severity_is_a_data_change(reference, tmp_path):
    text = (DATA_DIR / "rules.toml").read_text()
    text = text.replace('id = "DIDS017"\nkind = "postcode_format"\nseverity = "reject"',
                        'id = "DIDS017"\nkind = "postcode_format"\nseverity = "warn"')
    path = tmp_path / "rules.toml"
    path.write_text(text)
    rules = load_rules.__wrapped__(path)
    assert isinstance(rules, Rules) and rules.get("DIDS017").severity == "warn"
    data = edit(V1, 1, postcode="NOT A PC")
    report = run(data, reference, context_for(date(2026, 2, 1)), rules=rules)
    assert report.rules_at(2) == {"DIDS017"} and report.rejected_rows == 0
    assert run(data, reference, context_for(date(2026, 2, 1))).rejected_rows == 1


def test_counts_are_exact_when_findings_are_truncated(reference, tmp_path):
    records = [r.split(",") for _ in range(300) for r in V1[1:]]
    for cells in records:
        cells[16] = ""  # no site code: every record is rejected
    data = "\n".join([V1[0], *(",".join(c) for c in records)]).encode()
    batches: list[list] = []
    report = run(data, reference, context_for(date(2026, 2, 1)), max_findings=10, on_findings=batches.append)
    assert report.counts_by_rule == {"DIDS067": 3600, "P006": 1}
    # ten record findings, and the file-level one on top, listed first
    assert [f.rule for f in report.findings] == ["P006"] + ["DIDS067"] * 10 and report.findings_truncated
    report = run(data, reference, context_for(date(2026, 2, 1)), max_findings=10)
    assert report.counts_by_rule == {"DIDS067": 3600, "P006": 1} and len(report.findings) == 11
    assert sum(len(b) for b in batches) == sum(report.counts_by_rule.values())


def test_every_rule_kind_has_a_check_and_every_rule_is_documented():
    rules = load_rules()
    assert {r.kind for r in rules.rules} <= set(KINDS) | STATEFUL_KINDS
    docs = rules_documentation()
    assert {r["id"] for r in docs["rules"]} == set(rules.ids)
    assert all(r["explanation"] and r["example"] and r["severity"] for r in docs["rules"])
    layouts = tomllib.loads((DATA_DIR / "layouts.toml").read_text())
    assert {i["column"] for i in docs["items"]} == {i["column"] for i in layouts["item"]}


def test_the_sample_reference_snomed_ids_pass_the_verhoeff_check(reference):
    from submissions.engine import load_layouts
    from submissions.engine.identifiers import snomed_id_valid

    item = load_layouts()["2.0"].item("snomed_code")
    assert item.digits is not None
    shape = (item.digits["min"], item.digits["max"], item.partitions)
    assert all(snomed_id_valid(c, *shape) for c in reference.snomed)
    assert all(n.snomed_code in reference.snomed for n in reference.nicip.values())
    assert Path(DATA_DIR).is_dir()
