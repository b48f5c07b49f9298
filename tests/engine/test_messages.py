"""Messages read as plain English: items by their display names, never a raw column name."""

from __future__ import annotations

import re
import string
import tomllib

import pytest

from submissions.engine import load_rules, validate
from submissions.engine.layout import display_name, load_layouts
from submissions.engine.rules import item_values
from submissions.engine.validate import _sentence, item_names

from .conftest import GOLDEN, GOLDEN_MONTHS, context_for

# Example values for the placeholders a message can hold beyond the rule's own parameters.
EXAMPLES = {
    "value": "2026-02-27",
    "other": "2026-02-26",
    "detail": "the record at line 7 cannot be read",
    "why": "",
    "length": 3,
    "on": "2026-02-27",
    "retired": "2026-01-31",
    "mapped": "399208008",
    "owner": "RJ1",
    "submitter": "RR8",
    "as_of": "2026-03-01",
    "month": "February 2026",
    "months": 6,
    "month_start": "2026-03-01",
    "submission_month": "March 2026",
    "limit": "2025-09-01",
    "closed": "",
    "first_line": 5,
    "codes": "01, 02",
    "values": "01",
    "expected": "the 18 columns of v1.0",
}
SNAKE_CASE = sorted(
    {i.column for i in load_layouts().items if "_" in i.column}, key=len, reverse=True
)
RULE_VERSIONS = [(r, v) for r in load_rules().rules for v in r.versions]


def raw_names(text: str) -> list[str]:
    """Column names written raw in ``text``; a quoted one ('nhs_number', as a header must name
    it) is not raw."""
    bare = re.sub(r"'[^']*'", "''", text)
    return [c for c in SNAKE_CASE if re.search(rf"\b{c}\b", bare)]


def rendered(rule, version):
    layout = load_layouts()[version]
    shape = [item_values(layout.item(layout.resolve(c))) for c in rule.items[:1]
             if layout.has(layout.resolve(c))]
    values = {**EXAMPLES, **rule.params, **(shape[0] if shape else {}), **item_names(rule, layout)}
    fields = {f for _, f, _, _ in string.Formatter().parse(rule.message + rule.expected) if f}
    missing = fields - set(values)
    assert not missing, f"{rule.id}: no example value for {sorted(missing)}"
    return _sentence(rule.message, values), rule.expected.format_map(values)


@pytest.mark.parametrize(
    ("rule", "version"), RULE_VERSIONS, ids=[f"{r.id}-v{v}" for r, v in RULE_VERSIONS]
)
def test_every_rule_message_names_its_items_in_words_not_columns(rule, version):
    message, expected = rendered(rule, version)
    assert raw_names(message) == [], message
    assert raw_names(expected) == [], expected
    assert message[0].isupper(), message


def test_a_message_names_both_imaging_codes_in_plain_english():
    message, _ = rendered(load_rules().get("DIDS056", "1.0"), "1.0")
    assert message == "Neither the NICIP code nor the SNOMED CT code is given"


def test_the_message_of_a_v2_file_names_the_item_the_file_reads():
    message, _ = rendered(load_rules().get("DIDS034", "2.0"), "2.0")
    assert message.startswith(
        "The diagnostic test request date 2026-02-27 is after the coded procedure start timestamp"
    )


def test_a_missing_item_names_it_in_sentence_case():
    message, _ = rendered(load_rules().get("DIDS067", "1.0"), "1.0")
    assert message == "The site code (of imaging) is missing"


def test_every_finding_of_every_golden_file_names_no_column_raw(reference):
    cases = tomllib.loads((GOLDEN / "manifest.toml").read_text())["case"]
    for case in cases:
        ctx = context_for(GOLDEN_MONTHS[case["version"]], with_month=case["with_month"])
        for finding in validate(GOLDEN / case["file"], context=ctx, reference=reference).findings:
            assert raw_names(finding.message) == [], (case["file"], finding.message)
            assert finding.message[0].isupper(), finding.message


def test_a_header_problem_quotes_the_column_as_the_header_must_write_it(reference):
    report = validate(
        GOLDEN / "v1.0" / "DIDS075.csv",
        context=context_for(GOLDEN_MONTHS["1.0"]),
        reference=reference,
    )
    assert "the column 'nhs_number' (NHS number) is missing" in report.findings[0].message


def test_the_display_name_of_a_column_is_its_sentence_case_name():
    assert display_name("gp_practice") == "general medical practice code (patient registration)"
    assert display_name("birth_date") == "person birth date"
    assert display_name("not_a_column") == "not_a_column"
