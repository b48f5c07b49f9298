"""Normalise a batch and derive the typed columns the checks read.

Text items arrive trimmed (empty = null) from the reader. Derived columns start with '_':
_nhs (the NHS number without its ignored characters), _nhs_ok (it has the item's digits); _d_<date item>; _t_<timestamp item> (UTC) and
_ld_<timestamp item> (local date as written); _test/_report (dates the rules call test and
report date); _code_on (when imaging codes must be valid); _pc (normalised postcode) and _pcn (the
same without its space);
NICIP/SNOMED reference columns (_n_*, _s_*).
"""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl

from ..identifiers import snomed_id_valid
from ..layout import Item
from .env import Env

# A strptime directive as the regular expression of what it reads when written in full.
_DIRECTIVES = {"%Y": "[0-9]{4}", "%m": "[0-9]{2}", "%d": "[0-9]{2}", "%H": "[0-9]{2}",
               "%M": "[0-9]{2}", "%S": "[0-9]{2}"}


def written_pattern(written: str) -> str:
    """The regular expression of a value written as ``written`` (a strptime format), in full."""
    parts = re.split("(%[A-Za-z])", written)
    return "".join(_DIRECTIVES[p] if p in _DIRECTIVES else re.escape(p) for p in parts if p)


def written_width(written: str) -> int:
    """How many characters a value written as ``written`` has."""
    return len(datetime(2000, 1, 1).strftime(written))


# Dates spread over a lifetime: nearly every one in a batch differs, so a cache of parsed
# values only costs (2.4 ms against 5.1 ms of CPU per 100,000 birth dates; the activity
# dates of a month repeat, and their cache saves a third).
SPREAD_DATES = {"birth_date"}


def parse_date(column: str, written: str) -> pl.Expr:
    """The date an item written as ``written`` holds (null unless written in full)."""
    s = pl.col(column)
    parsed = s.str.strptime(pl.Date, written, strict=False, cache=column not in SPREAD_DATES)
    return pl.when(s.str.len_bytes() == written_width(written)).then(parsed).otherwise(None).alias(f"_d_{column}")


def parse_timestamp(item: Item) -> list[pl.Expr]:
    """The UTC instant (_t_) and the local date as written (_ld_) of a v2.0 timestamp: its
    ``written`` local time followed by one of its ``offsets``."""
    assert item.written and item.offsets, f"{item.column}: a timestamp needs written and offsets"
    s = pl.col(item.column)
    offsets = "|".join(re.escape(o) for o in item.offsets)
    ok = s.str.contains(f"^{written_pattern(item.written)}(?:{offsets})$")
    width = written_width(item.written)
    # nearly every instant differs, so a cache of parsed values only costs (0.016 s against 0.026 s
    # of CPU for 300,000)
    local = s.str.slice(0, width).str.strptime(pl.Datetime("us"), item.written, strict=False, cache=False)
    utc = local  # minus the offset, where the offset is not zero
    for offset, minutes in reversed([(o, m) for o, m in item.offsets.items() if m]):
        utc = pl.when(s.str.ends_with(offset)).then(local - pl.duration(minutes=minutes)).otherwise(utc)
    utc = utc.dt.replace_time_zone("UTC")
    return [pl.when(ok).then(utc).alias(f"_t_{item.column}"),
            pl.when(ok & local.is_not_null()).then(local.dt.date()).alias(f"_ld_{item.column}")]


# The column holding the value an item's kind parses to (the others: the trimmed text).
PARSED = {"date": "_d_{}", "timestamp": "_t_{}", "nhs_number": "_nhs", "postcode": "_pc"}


# The prepared columns the quality score's default test reads for an item, which hold its value
# without spaces (and an NHS number's hyphens), as the score normalises it: those are these
# items' ignored characters (layouts.toml); and whether the column is also upper-cased.
NORMALISED = {"postcode": ("_pcn", True), "nhs_number": ("_nhs", False)}


def parsed_column(item: Item) -> str:
    """The prepared column holding an item's parsed or normalised value (its kind's)."""
    return PARSED.get(item.kind, "{}").format(item.column)


def prepare(df: pl.DataFrame, env: Env) -> pl.DataFrame:
    layout = env.layout
    derived: list[pl.Expr] = []
    for it in layout.items:
        if it.kind == "date":
            assert it.written, f"{it.column}: a date needs written"
            derived.append(parse_date(it.column, it.written))
        elif it.kind == "timestamp":
            derived.extend(parse_timestamp(it))
    nhs_item = layout.item("nhs_number")
    nhs = pl.col("nhs_number")
    for character in (nhs_item.ignore or {}).values():
        nhs = nhs.str.replace_all(character, "", literal=True)
    derived += [nhs.alias("_nhs"), *postcode_exprs(layout.item("postcode"))]
    test, report = env.col("test_date"), env.col("report_date")
    if layout.item(test).kind == "timestamp":
        end = "procedure_end" if layout.has("procedure_end") else test
        day = [
            pl.col(f"_ld_{test}").alias("_test"),
            pl.col(f"_ld_{report}").alias("_report"),
            pl.coalesce(pl.col(f"_ld_{end}"), pl.col(f"_ld_{test}")).alias("_code_on"),
        ]
    else:
        day = [pl.col(f"_d_{test}").alias("_test"), pl.col(f"_d_{report}").alias("_report"),
               pl.col(f"_d_{test}").alias("_code_on")]
    assert nhs_item.digits, "the NHS number needs digits"
    shape = pl.col("_nhs").str.contains(_digits_pattern(nhs_item.digits))
    # One lazy plan, so that a subexpression used twice (a timestamp's parse, its pattern
    # match) is computed once (polars' common subexpression elimination; eager frames do not).
    df = df.lazy().with_columns(derived).with_columns(*day, shape.alias("_nhs_ok")).collect()
    return _imaging(df, env)


def postcode_exprs(postcode: Item) -> list[pl.Expr]:
    """_pc, the postcode upper-cased, its ``ignore`` characters removed and a space put before
    its ``inward`` code, and _pcn, the same without that space. A value already written so
    (capitals and digits, one space before the inward code) is its own _pc, and only the
    others are normalised: string functions skip the nulls the rest are made (about half
    the cost of normalising every value)."""
    inward = postcode.inward
    assert inward, "the postcode needs inward"
    ignored = list((postcode.ignore or {}).values())

    def normalised(s: pl.Expr) -> pl.Expr:
        s = s.str.to_uppercase()
        for character in ignored:
            s = s.str.replace_all(character, "", literal=True)
        return s

    def spaced(s: pl.Expr) -> pl.Expr:
        return pl.concat_str([s.str.head(-inward), s.str.tail(inward)], separator=" ")

    s = pl.col("postcode")
    if " " not in ignored:
        return [spaced(normalised(s)).alias("_pc"), normalised(s).alias("_pcn")]
    written = s.str.contains(f"^[0-9A-Z]+ [0-9A-Z]{{{inward}}}$").fill_null(False)
    rest = normalised(pl.when(~written).then(s))
    return [pl.when(written).then(s).otherwise(spaced(rest)).alias("_pc"),
            pl.when(written).then(s.str.replace(" ", "", literal=True)).otherwise(rest).alias("_pcn")]


def _digits_pattern(digits: dict[str, int]) -> str:
    return f"^[0-9]{{{digits['min']},{digits['max']}}}$"


def _imaging(df: pl.DataFrame, env: Env) -> pl.DataFrame:
    sct = env.layout.item("snomed_code")
    assert sct.digits, "the SNOMED CT code needs digits"
    low, high = sct.digits["min"], sct.digits["max"]
    uniq = df.get_column("snomed_code").drop_nulls().unique().to_list()
    good = [u for u in uniq if snomed_id_valid(u, low, high, sct.partitions)]
    df = df.with_columns(
        pl.col("snomed_code").is_in(pl.Series(good, dtype=pl.String).implode()).fill_null(False).alias("_sct_ok")
    )
    df = df.join(env.nicip, on="nicip_code", how="left", maintain_order="left")
    df = df.join(env.snomed, on="snomed_code", how="left", maintain_order="left")
    for column, table in env.org_tables.items():
        df = df.join(table, on=column, how="left", maintain_order="left")
    return df


def value_expr(env: Env, column: str, *, as_date: bool = False) -> pl.Expr:
    """The typed value of an item for comparisons (dates, or UTC instants for timestamps)."""
    col = env.col(column)
    kind = env.layout.item(col).kind
    if kind == "timestamp":
        return pl.col(f"_ld_{col}") if as_date else pl.col(f"_t_{col}")
    if kind == "date":
        return pl.col(f"_d_{col}")
    return pl.col(col)
