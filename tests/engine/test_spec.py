"""The spec (layouts.toml, rules.toml) is the only source: the record table follows it, the
rules agree with the items, and nothing in it goes unread by the code."""

from __future__ import annotations

import dataclasses
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
from submissions.engine.rules import Rules
from submissions.engine.storage import POLARS_TYPES

from .conftest import GOLDEN, GOLDEN_MONTHS, context_for

CASES = tomllib.loads((GOLDEN / "manifest.toml").read_text())["case"]
RAW_ITEMS = tomllib.loads((DATA_DIR / "layouts.toml").read_text())["item"]
RAW_RULES = tomllib.loads((DATA_DIR / "rules.toml").read_text())["rule"]
# Item attributes that only the documentation (the rules page) reads: what the NHS DD says,
# shown as it says it. Everything else an item carries is enforced by the code.
DOCUMENTATION_ONLY = {"format", "group"}


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
    assert only_documented == DOCUMENTATION_ONLY, (
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
