"""Each rule's own examples (``fails`` and ``passes`` in rules.toml), written by hand from the
rule's explanation: the rule fires on each failing example, with the message, value and
expected text written there, and on no passing one.

An example is one record: the hand-written valid record below for its dataset version
(``version``, default the rule's first) with the example's items ``set`` (v1.0 items for a
v1.0 record). Or several (``records``), a file's lines (``csv``, where ``{header}`` and
``{record}`` stand for the base ones), a file in another ``encoding``, a zip of members
(``zip``), header cells renamed (``rename``) or items of a given length (``long``).
``month = false`` checks without an activity month; ``submitted`` sets the time of
submission (default noon on the first day of the month after the activity month).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest

from submissions.engine import CheckContext, load_layouts, load_rules, validate
from submissions.engine.rules import Rule

from .conftest import context_for

# Valid records written by hand for February 2026 (v1.0) and October 2026 (v2.0), submitted
# by RR8 (Leeds) at noon on 1 March 2026 and 1 November 2026. 4010232137 is the NHS's own
# example of a valid NHS number; the codes and organisations are in the sample reference.
BASE = {
    "1.0": {
        "nhs_number": "4010232137", "nhs_number_status": "01", "birth_date": "1961-08-26",
        "ethnic_category": "A", "gender": "1", "postcode": "BD3 8QY", "gp_practice": "G85002",
        "patient_source_setting": "03", "referrer_code": "G1314392", "referring_org": "RR8",
        "request_date": "2026-01-01", "request_received_date": "2026-01-03",
        "test_date": "2026-02-07", "nicip_code": "CABPEC", "snomed_code": "574524007",
        "report_date": "2026-02-15", "site_code": "RR814", "accession_number": "ACC0001",
    },
    "2.0": {
        "nhs_number": "4010232137", "nhs_number_status": "01", "birth_date": "1962-04-26",
        "ethnic_category": "A", "gender": "1", "postcode": "BD3 8QY", "gp_practice": "G85002",
        "patient_source_setting": "03", "referrer_code": "G1314392", "referring_org": "RR8",
        "request_date": "2026-09-01", "request_received_date": "2026-09-03",
        "procedure_start": "2026-10-08T13:11:00+01:00", "procedure_end": "2026-10-08T14:08:00+01:00",
        "nicip_code": "CABPEC", "snomed_code": "574524007",
        "report_issued": "2026-10-16T15:11:00+01:00", "site_code": "RR814",
        "accession_number": "ACC0001", "evaluation_indicator": "N", "activity_category": "01",
        "waiting_list_clock_start": "2026-09-01",
    },
}
MONTHS = {"1.0": date(2026, 2, 1), "2.0": date(2026, 10, 1)}
RULES = load_rules().rules
CASES = [(rule, kind, n, example) for rule in RULES
         for kind in ("fails", "passes") for n, example in enumerate(getattr(rule, kind))]


def _row(values: dict[str, str]) -> str:
    return ",".join(f'"{v}"' if "," in v else v for v in values.values())


def _file(example: dict[str, Any], version: str) -> io.BytesIO:
    columns = load_layouts()[version].columns
    base = dict(zip(columns, (BASE[version][c] for c in columns), strict=True))
    records = []
    for change in example.get("records", [example.get("set", {})]):
        record = {**base, **change}
        for column, length in example.get("long", {}).items():
            record[column] = "A" * length
        records.append(record)
    header = ",".join(example.get("rename", {}).get(c, c) for c in columns)
    lines = [line.replace("{header}", header).replace("{record}", _row(records[0]))
             for line in example.get("csv", ["{header}", *map(_row, records)])]
    data = ("\n".join(lines) + "\n").encode(example.get("encoding", "utf-8"))
    if "zip" not in example:
        return io.BytesIO(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in example["zip"]:
            zf.writestr(name, data)
    out.seek(0)
    return out


def _context(example: dict[str, Any], version: str) -> CheckContext:
    ctx = context_for(MONTHS[version], with_month=example.get("month", True))
    if "submitted" in example:
        ctx = CheckContext(submitting_org=ctx.submitting_org, month=ctx.month,
                           as_of=datetime.fromisoformat(example["submitted"]))
    return ctx


def _findings(rule: Rule, example: dict[str, Any], reference: Any) -> list[Any]:
    version = example.get("version", rule.versions[0])
    assert version in rule.versions, f"{rule.id} does not apply to v{version}"
    report = validate(_file(example, version), context=_context(example, version), reference=reference)
    return [f for f in report.findings if f.rule == rule.id]


def test_the_base_records_raise_nothing(reference):
    for version in BASE:
        report = validate(_file({}, version), context=_context({}, version), reference=reference)
        assert report.findings == [] and report.accepted_rows == 1, report.to_dict()["findings"]


def test_every_rule_has_a_failing_and_a_passing_example():
    lacking = [f"{r.id} v{'/'.join(r.versions)}" for r in RULES if not (r.fails and r.passes)]
    assert not lacking, f"rules without a failing and a passing example: {lacking}"


@pytest.mark.parametrize(("rule", "kind", "n", "example"), CASES,
                         ids=[f"{r.id}-v{r.versions[0]}-{k}-{n}" for r, k, n, _ in CASES])
def test_each_rule_fires_exactly_on_its_failing_examples(rule, kind, n, example, reference):
    mine = _findings(rule, example, reference)
    if kind == "passes":
        assert mine == [], f"{rule.id} fired on a passing example: {mine}"
        return
    wanted = {"line": example.get("line", 2 if rule.severity != "file" else None),
              "severity": rule.severity, "message": example["message"],
              "value": example.get("value", ""), "expected": example["expected"]}
    got = [{"line": f.line, "severity": f.severity, "message": f.message,
            "value": f.value or "", "expected": f.expected} for f in mine]
    if rule.severity == "file" and "line" not in example:
        wanted.pop("line")
        for g in got:
            g.pop("line")
    assert got == [wanted], f"{rule.id}: the engine's finding differs from the example"
