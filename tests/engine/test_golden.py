"""Every rule, for each dataset version it applies to, has a golden file with its error planted
once in an otherwise clean file; the clean file raises nothing. Each golden file raises its
rule's findings exactly as golden/expected.toml writes them (message, value and expected),
text checked by hand against the rule in rules.toml."""

from __future__ import annotations

import tomllib

import pytest

from submissions.engine import load_rules, validate

from .conftest import GOLDEN, GOLDEN_MONTHS, context_for

CASES = {(c["rule"], c["version"]): c for c in tomllib.loads((GOLDEN / "manifest.toml").read_text())["case"]}
EXPECTED = {(c["rule"], c["version"]): c["findings"]
            for c in tomllib.loads((GOLDEN / "expected.toml").read_text())["case"]}
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
    assert case is not None and (rule_id, version) in EXPECTED, (
        f"no golden case for {rule_id} v{version}: plant one (tests/engine/golden_build.py) and "
        "write the findings it must raise, checked against the rule's text, in golden/expected.toml")
    rule = load_rules().get(rule_id, version)
    ctx = context_for(GOLDEN_MONTHS[version], with_month=case["with_month"])
    report = validate(GOLDEN / case["file"], context=ctx, reference=reference)

    mine = [f for f in report.findings if f.rule == rule_id]
    assert mine, f"{rule_id} did not fire: {report.to_dict()['findings']}"
    got = [{"message": f.message, "value": f.value or "", "expected": f.expected or ""} for f in mine]
    want = EXPECTED[(rule_id, version)]
    assert got == want, (
        f"{rule_id} v{version}: the engine's findings disagree with the hand-checked expectations "
        f"in golden/expected.toml:\n" + _difference(want, got))
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
    assert set(EXPECTED) == set(CASES)


def _difference(want: list[dict[str, str]], got: list[dict[str, str]]) -> str:
    """Each finding's fields that differ, expected against the engine's."""
    lines = []
    for n in range(max(len(want), len(got))):
        w = want[n] if n < len(want) else {}
        g = got[n] if n < len(got) else {}
        for key in ("message", "value", "expected"):
            if w.get(key) != g.get(key):
                lines.append(f"  finding {n + 1} {key}:\n    expected: {w.get(key)!r}\n    engine:   {g.get(key)!r}")
    return "\n".join(lines)
