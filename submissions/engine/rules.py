"""The validation rules, read from data/rules.toml, and the documentation built from them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .layout import DATA_DIR, Item, Layout, Layouts, load_layouts

SEVERITIES = ("file", "reject", "warn")
# The file-level problems the reader reports, by rule kind; each has one rule per version.
FILE_KINDS = ("file_layout", "file_encoding", "file_no_records", "file_csv", "file_zip",
              "file_versions", "file_all_rejected")
# Item attributes the checks of these kinds read: every item with one is named by such a rule.
ITEM_KINDS = {"length": "length", "pattern": "postcode_format", "code_list": "code_list"}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: str
    versions: tuple[str, ...]
    items: tuple[str, ...]
    message: str
    expected: str
    explanation: str
    example: str
    params: dict[str, Any] = field(default_factory=dict)
    # Example records written by hand from the explanation (tests/engine/test_rule_examples.py):
    # the rule fires on each failing one with its message, value and expected, on no passing one.
    fails: tuple[dict[str, Any], ...] = ()
    passes: tuple[dict[str, Any], ...] = ()

    def applies_to(self, version: str) -> bool:
        return version in self.versions


@dataclass(frozen=True)
class Rules:
    version: str
    rules: tuple[Rule, ...]

    def for_version(self, version: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.applies_to(version))

    def get(self, rule_id: str, version: str | None = None) -> Rule:
        for r in self.rules:
            if r.id == rule_id and (version is None or r.applies_to(version)):
                return r
        raise KeyError(rule_id)

    def by_kind(self, kind: str, version: str | None = None) -> Rule:
        """The rule of a kind that has one rule per version (the file-level kinds)."""
        for r in self.rules:
            if r.kind == kind and (version is None or r.applies_to(version)):
                return r
        raise KeyError(kind)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.id for r in self.rules))


@cache
def load_rules(path: str | Path | None = None) -> Rules:
    """Read the rules file (default: the shipped data/rules.toml) and check it is coherent."""
    with open(Path(path) if path else DATA_DIR / "rules.toml", "rb") as fh:
        raw = tomllib.load(fh)
    columns = {i.column for i in load_layouts().items}
    rules = []
    seen: dict[str, set[str]] = {}
    for r in raw["rule"]:
        rule = Rule(
            id=r["id"],
            kind=r["kind"],
            severity=r["severity"],
            versions=tuple(r["versions"]),
            items=tuple(r["items"]),
            message=r["message"],
            expected=r["expected"],
            explanation=r["explanation"],
            example=r["example"],
            params=dict(r.get("params", {})),
            fails=tuple(r.get("fails", ())),
            passes=tuple(r.get("passes", ())),
        )
        if rule.severity not in SEVERITIES:
            raise ValueError(f"{rule.id}: unknown severity {rule.severity!r}")
        unknown = set(rule.items) - columns
        if unknown:
            raise ValueError(f"{rule.id}: unknown items {sorted(unknown)}")
        overlap = seen.setdefault(rule.id, set()) & set(rule.versions)
        if overlap:
            raise ValueError(f"{rule.id}: defined twice for {sorted(overlap)}")
        seen[rule.id] |= set(rule.versions)
        rules.append(rule)
    _agree_with_layouts(rules, load_layouts())
    return Rules(version=raw["ruleset_version"], rules=tuple(rules))


def _agree_with_layouts(rules: list[Rule], layouts: Layouts) -> None:
    """Fail loudly where the rules do not enforce what the items say: each version has one
    rule of each file kind; its mandatory rules name exactly its M items and its one_of rules
    exactly its M groups (M*); its length, pattern and code list rules exactly the items that
    carry one."""
    for rule in rules:
        if rule.kind.startswith("file") and rule.kind not in FILE_KINDS:
            raise ValueError(f"{rule.id}: unknown file-level kind {rule.kind!r}")
    for v, layout in layouts.versions.items():
        mine = [r for r in rules if r.applies_to(v)]
        for kind in FILE_KINDS:
            if sum(r.kind == kind for r in mine) != 1:
                raise ValueError(f"v{v}: not exactly one rule of kind {kind!r}")

        def named(kind: str, rs: list[Rule] = mine, lay: Layout = layout) -> set[str]:
            return {lay.resolve(c) for r in rs if r.kind == kind for c in r.items}

        must = {i.column for i in layout.items if i.mandatory(v) == "M"}
        if named("mandatory") != must:
            raise ValueError(f"v{v}: the mandatory rules name {sorted(named('mandatory'))}, "
                             f"but the items marked M are {sorted(must)}")
        groups: dict[str, set[str]] = {}
        for i in layout.items:
            if i.mandatory(v) not in ("M", "R"):
                groups.setdefault(i.mandatory(v), set()).add(i.column)
        one_of = sorted(sorted(layout.resolve(c) for c in r.items) for r in mine if r.kind == "one_of")
        if one_of != sorted(sorted(g) for g in groups.values()):
            raise ValueError(f"v{v}: the one_of rules name {one_of}, but the M groups are {groups}")
        for attribute, kind in ITEM_KINDS.items():
            carry = {i.column for i in layout.items if getattr(i, attribute)}
            if named(kind) != carry:
                raise ValueError(f"v{v}: the {kind} rules name {sorted(named(kind))}, but the "
                                 f"items with a {attribute} are {sorted(carry)}")


RULESET_VERSION: str = load_rules().version


def rules_documentation(code_lists: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Plain data describing every item and every rule, for the rules documentation page.

    ``code_lists`` (list name -> codes) fills a code-list rule's "one of ..."; without it the
    text names the code list. Each rule's expected value is filled for each dataset version it
    applies to (``expected_by_version``); ``expected`` joins them where they differ."""
    layouts = load_layouts()
    items = [
        {
            "column": it.column,
            "name": it.name,
            "nhs_dd_name": it.nhs_dd,
            "nhs_dd_name_v2": it.nhs_dd_v2 or it.nhs_dd,
            "group": it.group,
            "mandatory": _join_versions({v: it.mandatory(v) for v in it.versions}),
            "format": it.format,
            "code_list": it.code_list,
            "versions": list(it.versions),
            "positions": dict(it.positions),
            "storage": it.storage,
        }
        for it in layouts.items
    ]
    rules = []
    for r in load_rules().rules:
        v2_items = [layouts["2.0"].resolve(c) for c in r.items] if "2.0" in r.versions else []
        names = {v: [layouts[v].name(c) for c in r.items if layouts[v].has(layouts[v].resolve(c))]
                 for v in r.versions}
        expected = {v: _render(r.expected, _doc_values(r, layouts[v], code_lists))
                    for v in r.versions}
        rules.append(
            {
                "id": r.id,
                "severity": r.severity,
                "versions": list(r.versions),
                "items": list(r.items),
                "items_v2": v2_items,
                "item_names": _join_versions({v: ", ".join(n) for v, n in names.items()}),
                "explanation": r.explanation,
                "expected": _join_versions(expected),
                "expected_by_version": expected,
                "message": r.message,
                "example": r.example,
                "check": r.kind,
            }
        )
    return {"ruleset_version": RULESET_VERSION, "items": items, "rules": rules}


def _doc_values(rule: Rule, layout: Layout, code_lists: Mapping[str, Iterable[str]] | None,
                ) -> dict[str, Any]:
    """The values of a rule's placeholders as the documentation states them for one version:
    its parameters, its items' names, and words for what depends on the record or submission."""
    columns = [layout.resolve(c) for c in rule.items if layout.has(layout.resolve(c))]
    names = [layout.item(c).name for c in columns]
    values: dict[str, Any] = dict(rule.params)
    values.update(
        item=names[0] if names else "the item",
        other_item=names[1] if len(names) > 1 else "the other item",
        items=english_list(names),
        expected=f"the {len(layout.items)} columns of the {layout.label} layout",
        as_of="the time of submission",
        month="the activity month of the submission",
        mapped="as the reference data's NICIP to SNOMED CT map gives it",
        submitter="the submitting organisation",
    )
    if "allowance" in rule.params:
        values["allowance"] = allowance_words(rule.params["allowance"])
    if "months" in rule.params:
        values["limit"] = (f"the first day of the month {rule.params['months']} months before "
                           "the month of submission")
    for c in columns[:1]:
        values.update(item_values(layout.item(c)))
    list_names = [name for c in columns if (name := layout.item(c).code_list)]
    if list_names:
        codes = sorted(set((code_lists or {}).get(list_names[0], ())))
        values["codes"] = (", ".join(codes) if codes
                           else f"the codes of the {names[0]} list")
    return values


# strptime directives in the NHS DD's notation (CCYY-MM-DD, hh:mm:ss).
NHS_DD_DIRECTIVES = {"%Y": "CCYY", "%m": "MM", "%d": "DD", "%H": "hh", "%M": "mm", "%S": "ss"}


def nhs_dd_written(written: str) -> str:
    """A strptime format in the NHS DD's words: "%Y-%m-%d" is "CCYY-MM-DD"."""
    for directive, words in NHS_DD_DIRECTIVES.items():
        written = written.replace(directive, words)
    return written


def item_values(item: Item) -> dict[str, Any]:
    """The values of an item's shape that a rule's message and expected name: {min} and {max}
    (its length), {digits} ("10", "6 to 18"), {ignored} ("spaces and hyphens"), {written}
    ("CCYY-MM-DD") and {offsets} ("+01:00, +00:00, -00:00 or Z")."""
    values: dict[str, Any] = dict(item.length or {})
    if item.digits:
        low, high = item.digits["min"], item.digits["max"]
        values["digits"] = str(low) if low == high else f"{low} to {high}"
    if item.ignore:
        values["ignored"] = english_list(list(item.ignore))
    if item.written:
        values["written"] = nhs_dd_written(item.written)
    if item.offsets:
        values["offsets"] = english_list(list(item.offsets), "or")
    return values


def allowance_words(allowance: str) -> str:
    """A not_later rule's allowance in words: "365d" is "365 days", "1mo" is "1 month"."""
    match = re.fullmatch(r"(\d+)(d|mo)", allowance)
    if match is None:
        raise ValueError(f"an allowance is days (365d) or months (6mo), not {allowance!r}")
    number, unit = match.groups()
    word = {"d": "day", "mo": "month"}[unit]
    return f"{number} {word}" + ("" if number == "1" else "s")


def english_list(words: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _join_versions(texts: dict[str, str]) -> str:
    """One text where every version reads the same, else each version's text named."""
    if len(set(texts.values())) <= 1:
        return next(iter(texts.values()), "")
    return "; ".join(f"v{v}: {text}" for v, text in texts.items())


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render(template: str, params: dict[str, Any]) -> str:
    """Fill a template's parameters; placeholders that depend on the record stay visible."""
    values = {k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in params.items()}
    return template.format_map(_Keep(values))
