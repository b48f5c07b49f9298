"""Format, code list and mandatory checks on single items."""

from __future__ import annotations

from datetime import date

import polars as pl

from ..identifiers import modulus11_ok
from ..rules import Rule, item_values
from .env import Env
from .registry import Check, kind


def _given(column: str) -> pl.Expr:
    return pl.col(column).is_not_null()


@kind("nhs_number_format")
def nhs_number_format(rule: Rule, env: Env) -> list[Check]:
    """The NHS number without its ignored characters has the item's digits (layouts.toml)."""
    values = item_values(env.layout.item("nhs_number"))
    return [Check(rule, "nhs_number", _given("nhs_number") & ~pl.col("_nhs_ok"), params=values)]


@kind("nhs_number_modulus11")
def nhs_number_modulus11(rule: Rule, env: Env) -> list[Check]:
    return [Check(rule, "nhs_number", pl.col("_nhs_ok") & ~modulus11_ok(pl.col("_nhs")))]


@kind("nhs_test_range")
def nhs_test_range(rule: Rule, env: Env) -> list[Check]:
    nhs = pl.col("_nhs")
    hit = nhs.is_in(list(rule.params.get("sentinels", [])))
    for prefix in rule.params.get("prefixes", []):
        hit = hit | nhs.str.starts_with(prefix)
    return [Check(rule, "nhs_number", pl.col("_nhs_ok") & hit)]


@kind("date_format")
def date_format(rule: Rule, env: Env) -> list[Check]:
    """Each date as its item is ``written`` (layouts.toml), on the calendar."""
    out = []
    for item in rule.items:
        col = env.col(item)
        out.append(Check(rule, col, _given(col) & pl.col(f"_d_{col}").is_null(),
                         params=item_values(env.layout.item(col))))
    return out


@kind("timestamp_format")
def timestamp_format(rule: Rule, env: Env) -> list[Check]:
    """Each timestamp as its item is ``written``, with one of its ``offsets``."""
    return [Check(rule, c, _given(c) & pl.col(f"_t_{c}").is_null(), params=item_values(env.layout.item(c)))
            for c in map(env.col, rule.items)]


@kind("postcode_format")
def postcode_format(rule: Rule, env: Env) -> list[Check]:
    """The normalised postcode against the item's pattern (layouts.toml)."""
    pattern = env.layout.item("postcode").pattern
    assert pattern, f"{rule.id}: the postcode item has no pattern"
    ok = pl.col("_pc").str.contains(pattern)
    return [Check(rule, "postcode", _given("postcode") & ~ok)]


@kind("length")
def length(rule: Rule, env: Env) -> list[Check]:
    """Each item's length against its own limits (``length`` in layouts.toml)."""
    out = []
    for item in rule.items:
        col = env.col(item)
        limits = env.layout.item(col).length
        assert limits, f"{rule.id}: {col} has no length"
        n = pl.col(col).str.len_chars()
        bad = (n < limits["min"]) | (n > limits["max"])
        out.append(Check(rule, col, _given(col) & bad, extras={"length": n}, params=dict(limits)))
    return out


def code_valid(column: str, codes: dict[str, list[tuple[date | None, date | None]]], on: pl.Expr) -> pl.Expr:
    """True where the code is in the list and valid on the date (any interval when no date)."""
    always = [c for c, spans in codes.items() if any(f is None and t is None for f, t in spans)]
    ok = pl.col(column).is_in(always)
    for code, spans in codes.items():
        if code in always:
            continue
        for start, end in spans:
            inside = pl.lit(True)
            if start is not None:
                inside = inside & (on >= pl.lit(start))
            if end is not None:
                inside = inside & (on <= pl.lit(end))
            ok = ok | ((pl.col(column) == code) & (inside.fill_null(True)))
    return ok


@kind("code_list")
def code_list(rule: Rule, env: Env) -> list[Check]:
    out = []
    # Codes are judged as of the test date, within the period of the file's dataset version:
    # a v2.0 record dated before v2.0 began is P016's or P005's, not judged by v1.0 lists.
    layout = env.layout
    on = pl.col("_test").clip(pl.lit(layout.activity_from),
                              pl.lit(layout.activity_to) if layout.activity_to else None)
    for item in rule.items:
        col = env.col(item)
        list_name = env.layout.item(col).code_list
        assert list_name, f"{rule.id}: {col} has no code list"
        codes = env.ref.codes(list_name)
        ok = code_valid(col, codes, on)
        out.append(Check(rule, col, _given(col) & ~ok, params={"codes": ", ".join(codes)}))
    return out


@kind("snomed_format")
def snomed_format(rule: Rule, env: Env) -> list[Check]:
    """The SNOMED CT code's digits and partitions (layouts.toml) and its check digit."""
    return [Check(rule, "snomed_code", _given("snomed_code") & ~pl.col("_sct_ok"),
                  params=item_values(env.layout.item("snomed_code")))]


@kind("mandatory")
def mandatory(rule: Rule, env: Env) -> list[Check]:
    return [Check(rule, c, pl.col(c).is_null()) for c in map(env.col, rule.items)]


@kind("one_of")
def one_of(rule: Rule, env: Env) -> list[Check]:
    cols = [env.col(i) for i in rule.items]
    none = pl.all_horizontal(pl.col(c).is_null() for c in cols)
    return [Check(rule, cols[0], none, other_item=cols[1] if len(cols) > 1 else None)]


@kind("pseudo_postcode_only")
def pseudo_postcode_only(rule: Rule, env: Env) -> list[Check]:
    pseudo = pl.col("_pc").str.starts_with(rule.params["prefix"])
    others = pl.all_horizontal(pl.col(env.col(c)).is_null() for c in rule.params["others"])
    return [Check(rule, "postcode", pseudo.fill_null(False) & others)]


@kind("referrer_pattern")
def referrer_pattern(rule: Rule, env: Env) -> list[Check]:
    col = env.col(rule.items[0])
    bare = (p.removeprefix("^").removesuffix("$") for p in rule.params["patterns"])
    pattern = "(?i)^(?:" + "|".join(bare) + ")$"
    defaults = list(env.ref.codes(rule.params.get("defaults_list", "")))
    ok = pl.col(col).str.contains(pattern) | pl.col(col).str.to_uppercase().is_in(defaults)
    return [Check(rule, col, _given(col) & ~ok, params=rule.params)]
