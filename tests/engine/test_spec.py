"""The spec (layouts.toml, rules.toml) is the only source: the record table follows it, the
rules agree with the items, and nothing in it goes unread by the code."""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from submissions.engine import layout as layout_module
from submissions.engine import load_layouts, load_rules, rules_documentation, validate
from submissions.engine.layout import DATA_DIR, DERIVED_COLUMNS, STORAGE_COLUMNS, Item
from submissions.engine.rules import Rules, nhs_dd_written
from submissions.engine.storage import POLARS_TYPES

from .conftest import GOLDEN, GOLDEN_MONTHS, context_for

CASES = tomllib.loads((GOLDEN / "manifest.toml").read_text())["case"]
RAW_ITEMS = tomllib.loads((DATA_DIR / "layouts.toml").read_text())["item"]
RAW_RULES = tomllib.loads((DATA_DIR / "rules.toml").read_text())["rule"]
# Item attributes that only the documentation reads, and who shows them: what the NHS DD
# says, as it says it. Everything else an item carries is enforced by the code; `format` is
# held to agree with what is enforced (test_each_item_s_format_agrees_with_what_is_enforced).
DOCUMENTATION_ONLY = {
    "format": "the rules page's Format column (rules_documentation()['items'][..]['format'])",
    "group": "the rules page's Group column (rules_documentation()['items'][..]['group'])",
}


# ------------------------------------------------------------------ the record table

def test_the_record_table_has_a_column_of_each_stored_item_of_its_storage_type():
    from submissions.loading import FIELD_TYPES, VERSION_COLUMNS
    from submissions.models import Record

    fields = {f.column: f for f in Record._meta.concrete_fields}
    types = dict(STORAGE_COLUMNS)
    for item in load_layouts().items:
        if item.record is not None:  # stored in a derived column (v1.0's test date)
            assert item.column not in fields, item.column
            assert item.record in DERIVED_COLUMNS and item.record in fields, item.column
            continue
        field = fields.get(item.column)
        assert field is not None, f"Record has no column for the item {item.column}"
        assert FIELD_TYPES[field.get_internal_type()][1] == POLARS_TYPES[item.storage], (
            f"Record.{item.column} is a {field.get_internal_type()}, the spec stores {item.storage}")
        assert field.null, f"Record.{item.column} must allow NULL: the other version lacks it"
    items = {i.column for i in load_layouts().items}
    others = set(fields) - items - set(VERSION_COLUMNS)
    # the rest are the derived columns (the dataset version is the submission's; the version's
    # own columns, its id and month, are written by the loader)
    assert others == DERIVED_COLUMNS - {"dataset_version"}
    for name in others:
        assert FIELD_TYPES[fields[name].get_internal_type()][1] == POLARS_TYPES[types[name]], name


# ------------------------------------------------------------------ the rules agree with the items

def _write_spec(tmp_path: Path, old: str, new: str, name: str = "rules.toml") -> Path:
    text = (DATA_DIR / name).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("old", "new", "complaint"), [
    ('id = "DIDS067"\nkind = "mandatory"', 'id = "DIDS067"\nkind = "one_of"', "items marked M"),
    ('items = ["patient_source_setting"]\nmessage = "The {item} is missing"',
     'items = ["referrer_code", "patient_source_setting"]\nmessage = "The {item} is missing"',
     "items marked M"),
    ('items = ["nhs_number", "birth_date", "ethnic_category", "gender", "postcode", "gp_practice"]',
     'items = ["nhs_number", "birth_date", "ethnic_category", "gender", "postcode"]', "M groups"),
    ('id = "DIDS072"\nkind = "length"', 'id = "DIDS072"\nkind = "mandatory"', "length"),
    ('id = "P003"\nkind = "file_csv"', 'id = "P003"\nkind = "file_csv_error"', "unknown file-level"),
    ('id = "P004"\nkind = "file_zip"', 'id = "P004"\nkind = "file_csv"', "exactly one"),
])
def test_rules_that_do_not_enforce_what_the_items_say_fail_to_load(tmp_path, old, new, complaint):
    with pytest.raises(ValueError, match=complaint):
        load_rules(_write_spec(tmp_path, old, new))


def test_the_shipped_rules_agree_with_the_items():
    rules = load_rules()
    for version in ("1.0", "2.0"):
        layout = load_layouts()[version]
        mandatory = {layout.resolve(c) for r in rules.for_version(version) if r.kind == "mandatory"
                     for c in r.items}
        assert mandatory == {i.column for i in layout.items if i.mandatory(version) == "M"}


# ------------------------------------------------------------------ format agrees with what is enforced

def test_each_item_s_format_agrees_with_what_is_enforced(reference):
    """`format` is the NHS DD's words, shown on the rules page and read by no check; this holds
    them to the attributes that are enforced, so the two cannot drift apart: nN or nA-nB is the
    item's digits, CCYY-MM-DD(Thh:mm:ss and offsets) how it is written, "accepted A-B" or
    "max anN" its length, anN (max anN) the length of every code of its code list, and
    "modulus 11", "Verhoeff" and "UK postcode" its kind."""
    for item in load_layouts().items:
        fmt, where = item.format, f"{item.column}: format {item.format!r}"
        digits = re.match(r"n(\d+)(?:-n(\d+))?(?:,|$)", fmt)
        assert bool(digits) == bool(item.digits), where
        if digits and item.digits:
            low, high = int(digits[1]), int(digits[2] or digits[1])
            assert (low, high) == (item.digits["min"], item.digits["max"]), where
        assert fmt.startswith("CCYY") == bool(item.written), where
        if item.written:
            written = nhs_dd_written(item.written) + "|".join(item.offsets or {})
            assert re.match(re.escape(written) + "(;|$)", fmt), f"{where}, written {written!r}"
        if item.length:
            accepted = re.search(r"accepted (\d+)-(\d+)", fmt) or re.match(r"max an(\d+)", fmt)
            assert accepted, where
            low, high = (int(accepted[1]), int(accepted[2])) if accepted.re.groups == 2 else (1, int(accepted[1]))
            assert (low, high) == (item.length["min"], item.length["max"]), where
        if item.code_list:
            size = re.match(r"(max )?an(\d+)", fmt)
            assert size, where
            codes = reference.codes(item.code_list)
            assert codes and all(
                len(c) <= int(size[2]) if size[1] else len(c) == int(size[2]) for c in codes), where
        assert ("modulus 11" in fmt) == (item.kind == "nhs_number"), where
        assert ("Verhoeff" in fmt) == (item.kind == "snomed"), where
        assert ("UK postcode" in fmt) == (item.kind == "postcode" and bool(item.pattern)), where


# ------------------------------------------------------------------ nothing unread

@contextmanager
def _item_reads() -> Iterator[set[str]]:
    """The Item attributes read while the block runs (by the code, not by the dataclass's
    own generated methods such as __eq__ and __hash__)."""
    reads: set[str] = set()
    names = {f.name for f in dataclasses.fields(Item)}
    original = Item.__getattribute__

    def tracked(self: Item, name: str) -> Any:
        if name in names and sys._getframe(1).f_code.co_filename != "<string>":
            reads.add(name)
        return original(self, name)

    Item.__getattribute__ = tracked  # type: ignore[method-assign]
    try:
        yield reads
    finally:
        Item.__getattribute__ = original  # type: ignore[method-assign]


class _Params(dict):
    """A rule's params that remember which keys the code looks up."""

    def __init__(self, rule_id: str, params: dict[str, Any], reads: set[tuple[str, str]]):
        super().__init__(params)
        self.rule_id, self.reads = rule_id, reads

    def __getitem__(self, key: str) -> Any:
        self.reads.add((self.rule_id, key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.add((self.rule_id, key))
        return super().get(key, default)


def _exercise(reference: Any, rules: Rules | None = None) -> None:
    """Check every golden file (and store the accepted rows of each)."""
    for case in CASES:
        ctx = context_for(GOLDEN_MONTHS[case["version"]], with_month=case["with_month"])
        validate(GOLDEN / case["file"], context=ctx, reference=reference, rules=rules,
                 on_clean_batch=lambda df: None)
    for version, month in GOLDEN_MONTHS.items():
        validate(GOLDEN / f"v{version}" / "clean.csv", context=context_for(month),
                 reference=reference, rules=rules, on_clean_batch=lambda df: None)


def test_every_item_attribute_is_read_by_the_code(reference):
    declared = {key for item in RAW_ITEMS for key in item}
    with _item_reads() as loading:  # what is read once, as the engine loads
        load_layouts.__wrapped__()
        load_rules.__wrapped__()
        layout_module._storage_columns()
    from submissions.loading import copied_columns

    with _item_reads() as checking:
        _exercise(reference)
        for version in GOLDEN_MONTHS:
            copied_columns(version)
    with _item_reads() as documenting:
        rules_documentation()
    unread = declared - loading - checking - documenting
    assert not unread, f"layouts.toml declares item attributes no code reads: {sorted(unread)}"
    only_documented = declared - loading - checking
    assert only_documented == set(DOCUMENTATION_ONLY), (
        "item attributes read only by the documentation: "
        f"{sorted(only_documented)} (expected {sorted(DOCUMENTATION_ONLY)})")


def test_every_rule_parameter_is_read_by_the_code_or_named_by_its_text(reference):
    reads: set[tuple[str, str]] = set()
    shipped = load_rules()
    tracked = Rules(version=shipped.version, rules=tuple(
        dataclasses.replace(r, params=_Params(r.id, r.params, reads)) for r in shipped.rules))
    _exercise(reference, tracked)
    unused = []
    for raw in RAW_RULES:
        for key in raw.get("params", {}):
            named = "{" + key + "}" in raw["message"] + raw["expected"]
            if (raw["id"], key) not in reads and not named:
                unused.append(f"{raw['id']}.{key}")
    assert not unused, f"rules.toml declares parameters no code reads: {unused}"


# ------------------------------------------------------------------ a planted change changes behaviour

@pytest.fixture
def planted(tmp_path, monkeypatch):
    """Check files against a copy of the spec with one change planted in layouts.toml (the
    engine reads its data directory as it loads, so the copy is what it checks by)."""
    from submissions.engine import rules as rules_module

    def plant(old: str, new: str) -> None:
        _write_spec(tmp_path, old, new, "layouts.toml")
        (tmp_path / "rules.toml").write_text((DATA_DIR / "rules.toml").read_text())
        monkeypatch.setattr(layout_module, "DATA_DIR", tmp_path)
        monkeypatch.setattr(rules_module, "DATA_DIR", tmp_path)
        load_layouts.cache_clear()
        load_rules.cache_clear()

    yield plant
    monkeypatch.undo()
    load_layouts.cache_clear()
    load_rules.cache_clear()


def _fired(rule_id: str, change: dict[str, str], version: str, reference: Any) -> list[Any]:
    from .test_rule_examples import _context, _file

    example = {"set": change, "version": version}
    report = validate(_file(example, version), context=_context(example, version), reference=reference)
    return [f for f in report.findings if f.rule == rule_id]


SNOMED_18 = "100000000000000106"  # 18 digits, partition 10, Verhoeff check digit 6
# (old text in layouts.toml, new text, rule, the record's change, version, the finding's
# expected text with the shipped spec (None: the rule does not fire), with the planted one)
PLANTED = [
    ("digits = { min = 6, max = 18 }", "digits = { min = 6, max = 17 }", "P014",
     {"snomed_code": SNOMED_18}, "2.0",
     None, "6 to 17 digits, no leading zero, ending in a Verhoeff check digit"),
    ('partitions = ["00", "10"]', 'partitions = ["10"]', "P014", {}, "1.0",
     None, "6 to 18 digits, no leading zero, ending in a Verhoeff check digit"),
    ("digits = { min = 10, max = 10 }", "digits = { min = 11, max = 11 }", "DIDS002", {}, "1.0",
     None, "11 digits (spaces and hyphens are ignored)"),
    ('ignore = { spaces = " ", hyphens = "-" }', 'ignore = { spaces = " " }', "DIDS002",
     {"nhs_number": "401 023-2137"}, "1.0", None, "10 digits (spaces are ignored)"),
    ('format = "CCYY-MM-DD"\nwritten = "%Y-%m-%d"', 'format = "CCYY-MM-DD"\nwritten = "%d/%m/%Y"',
     "DIDS005", {"birth_date": "26/08/1961"}, "1.0",
     "a real date as CCYY-MM-DD", None),
    ('"-00:00" = 0, "Z" = 0 }', '"-00:00" = 0 }', "P010",
     {"procedure_start": "2026-10-08T12:11:00Z"}, "2.0",  # the first timestamp item
     None, "CCYY-MM-DDThh:mm:ss followed by +01:00, +00:00 or -00:00"),
    # 12:30 at +01:00 is 11:30 UTC, before the submission at noon; at +00:00 it is after it
    ('offsets = { "+01:00" = 60,', 'offsets = { "+01:00" = 0,', "DIDS051",
     {"procedure_start": "2026-11-01T12:30:00+01:00"}, "2.0", None,
     "on or before 2026-11-01T12:00:00+00:00"),
    ('ignore = { spaces = " " }\ninward = 3', 'ignore = {}\ninward = 3', "DIDS017", {}, "1.0",
     None, "a UK postcode such as LS1 3EX (case and spacing are normalised)"),
    ("inward = 3", "inward = 2", "DIDS017", {}, "1.0",
     None, "a UK postcode such as LS1 3EX (case and spacing are normalised)"),
]


@pytest.mark.parametrize(("old", "new", "rule_id", "change", "version", "shipped", "changed"),
                         PLANTED, ids=[p[1] for p in PLANTED])
def test_a_change_planted_in_an_item_attribute_changes_what_the_rule_finds(
        planted, reference, old, new, rule_id, change, version, shipped, changed):
    before = _fired(rule_id, change, version, reference)
    assert [f.expected for f in before] == ([shipped] if shipped else []), before
    planted(old, new)
    after = _fired(rule_id, change, version, reference)
    assert [f.expected for f in after] == ([changed] if changed else []), after
