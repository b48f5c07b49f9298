"""Accepted rows in the storage shape: exactly STORAGE_COLUMNS, values normalised.

An item is stored as its ``storage`` type (layouts.toml) from the value its ``kind`` parses
to (prepare.parsed_column); the derived columns are built here.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from .checks.prepare import parsed_column
from .layout import DERIVED_COLUMNS, STORAGE_COLUMNS, Layout

# The one map from a storage type (an item's ``storage``) to its column type; the portal's
# record table has the matching Django fields (tests/engine/test_spec.py).
POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "text": pl.String, "date": pl.Date, "timestamp": pl.Datetime("us", "UTC"), "int": pl.Int64}


def _modality(layout: Layout, warn_masks: dict[str, pl.Expr]) -> pl.Expr:
    nicip_mod = pl.when(pl.col("_n_found").fill_null(False)).then(pl.col("_n_mod"))
    snomed_mod = pl.when(pl.col("_s_found").fill_null(False) & pl.col("_sct_ok")).then(pl.col("_s_mod"))
    return pl.coalesce(nicip_mod, snomed_mod, pl.lit("OTHER"))


def _warnings(layout: Layout, warn_masks: dict[str, pl.Expr]) -> pl.Expr:
    parts = [pl.when(m).then(pl.lit(rule)) for rule, m in warn_masks.items()]
    if not parts:
        return pl.lit(None)
    joined = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(joined.str.len_bytes() > 0).then(joined)


# The storage columns that are not items (layout.DERIVED_COLUMNS): how each is made.
DERIVED: dict[str, Callable[[Layout, dict[str, pl.Expr]], pl.Expr]] = {
    "line": lambda layout, warn_masks: pl.col("line"),
    "activity_date": lambda layout, warn_masks: pl.col("_test"),
    "report_day": lambda layout, warn_masks: pl.col("_report"),
    "modality": _modality,
    "dataset_version": lambda layout, warn_masks: pl.lit(layout.version),
    "warnings": _warnings,
}
if set(DERIVED) != DERIVED_COLUMNS:
    raise RuntimeError(f"storage: derived columns {sorted(DERIVED)} are not {sorted(DERIVED_COLUMNS)}")


def storage_frame(df: pl.DataFrame, layout: Layout, warn_masks: dict[str, pl.Expr],
                  stored_as: dict[str, tuple[pl.Expr, str]],
                  accepted: pl.Expr | None = None) -> pl.DataFrame:
    """Select the storage columns from a prepared batch: its rows where ``accepted`` holds
    (default: all of them).

    warn_masks maps warn rule id -> mask; stored_as maps an item to (mask, value) for a warn
    rule whose failures are stored as a default (its ``stored_as`` parameter: DIDS023). One
    lazy plan filters only the columns the storage shape reads, not every column of the batch.
    """
    exprs: list[pl.Expr] = []
    for name, storage in STORAGE_COLUMNS:
        if name in DERIVED:
            expr = DERIVED[name](layout, warn_masks)
        elif not layout.has(name):  # an item of the other version (see stored_columns)
            expr = pl.lit(None)
        else:
            expr = pl.col(parsed_column(layout.item(name)))
            if name in stored_as:
                mask, value = stored_as[name]
                expr = pl.when(mask).then(pl.lit(value)).otherwise(expr)
        exprs.append(expr.cast(POLARS_TYPES[storage]).alias(name))
    plan = df.lazy() if accepted is None else df.lazy().filter(accepted)
    return plan.select(exprs).collect()
