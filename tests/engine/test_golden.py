"""Every rule, for each dataset version it applies to, has a golden file with its error planted
once in an otherwise clean file; the clean file raises nothing."""

from __future__ import annotations

import tomllib

import pytest

from submissions.engine import load_rules, validate

from .conftest import GOLDEN, GOLDEN_MONTHS, context_for

CASES = {(c["rule"], c["version"]): c for c in tomllib.loads((GOLDEN / "manifest.toml").read_text())["case"]}
RULE_VERSIONS = [(r.id, v) for r in load_rules().rules for v in r.versions]


@pytest.mark.parametrize("version", sorted(GOLDEN_MONTHS))
def test_the_clean_golden_file_raises_nothing(version, reference):
    report = validate(GOLDEN / f"v{version}" / "clean.csv", context=context_for(GOLDEN_MONTHS[version]),
                      reference=reference)
    assert report.findings == []
    assert report.counts_by_rule == {}
    assert report.accepted_rows == report.rows == 12
    assert report.dataset_version == version


@pytest.mark.parametrize(("rule_id", "version"), RULE_VERSIONS, ids=[f"{r}-v{v}" for r, v in RULE_VERSIONS])
def test_each_rule_fires_on_its_golden_file_and_nowhere_else(rule_id, version, reference):
    case = CASES.get((rule_id, version))
    assert case is not None, f"no golden file for {rule_id} v{version}: run tests/engine/golden_build.py"
    rule = load_rules().get(rule_id, version)
    ctx = context_for(GOLDEN_MONTHS[version], with_month=case["with_month"])
    report = validate(GOLDEN / case["file"], context=ctx, reference=reference)

    mine = [f for f in report.findings if f.rule == rule_id]
    assert mine, f"{rule_id} did not fire: {report.to_dict()['findings']}"
    assert all(f.severity == rule.severity for f in mine)
    assert all(f.message and f.expected for f in mine)
    if rule.severity == "file":
        assert report.file_rejected
        assert {f.rule for f in report.findings} == {rule_id, *case["also"]}
        if "line" in case:
            assert mine[0].line == case["line"]
        return
    line = case["line"]
    assert {f.line for f in report.findings} == {line}, report.to_dict()["findings"]
    assert {f.rule for f in report.findings} == {rule_id, *case["also"]}
    assert all(f.item for f in mine)
    expected_rejects = 1 if any(
        load_rules().get(r, version).severity == "reject" for r in {rule_id, *case["also"]}) else 0
    assert report.rejected_rows == expected_rejects
    assert report.accepted_rows == report.rows - expected_rejects
    assert not report.file_rejected
    assert report.counts_by_rule[rule_id] == len(mine)


def test_every_golden_case_names_a_rule_that_exists():
    known = set(RULE_VERSIONS)
    assert set(CASES) <= known
