"""Accepted rows in the storage shape: exactly STORAGE_COLUMNS, values normalised."""

from __future__ import annotations

import polars as pl

from .layout import STORAGE_COLUMNS, Layout

POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {"text": pl.String, "date": pl.Date, "timestamp": pl.Datetime("us", "UTC"), "int": pl.Int64}


def storage_frame(df: pl.DataFrame, layout: Layout, warn_masks: dict[str, pl.Expr],
                  referrer_fallback: tuple[str, str] | None) -> pl.DataFrame:
    """Select the storage columns from a prepared batch of accepted rows.

    warn_masks maps warn rule id -> mask; referrer_fallback is (rule id, stored value) for the
    referrer code rule whose failures are stored as a default.
    """
    exprs: list[pl.Expr] = []
    for name, kind in STORAGE_COLUMNS:
        dtype = POLARS_TYPES[kind]
        if name == "line":
            expr = pl.col("line").cast(pl.Int64)
        elif name == "activity_date":
            expr = pl.col("_test")
        elif name == "report_day":
            expr = pl.col("_report")
        elif name == "modality":
            nicip_mod = pl.when(pl.col("_n_found").fill_null(False)).then(pl.col("_n_mod"))
            snomed_mod = pl.when(pl.col("_s_found").fill_null(False) & pl.col("_sct_ok")).then(pl.col("_s_mod"))
            expr = pl.coalesce(nicip_mod, snomed_mod, pl.lit("OTHER"))
        elif name == "dataset_version":
            expr = pl.lit(layout.version)
        elif name == "warnings":
            parts = [pl.when(m).then(pl.lit(rule)) for rule, m in warn_masks.items()]
            joined = pl.concat_str(parts, separator=",", ignore_nulls=True) if parts else pl.lit(None)
            expr = pl.when(joined.str.len_bytes() > 0).then(joined) if parts else joined
        elif not layout.has(name):  # an item of the other version (see stored_columns)
            expr = pl.lit(None)
        elif name == "nhs_number":
            expr = pl.col("_nhs")
        elif name == "postcode":
            expr = pl.col("_pc")
        elif name == "referrer_code" and referrer_fallback and referrer_fallback[0] in warn_masks:
            expr = pl.when(warn_masks[referrer_fallback[0]]).then(pl.lit(referrer_fallback[1])).otherwise(
                pl.col("referrer_code"))
        elif kind == "date":
            expr = pl.col(f"_d_{name}")
        elif kind == "timestamp":
            expr = pl.col(f"_t_{name}")
        else:
            expr = pl.col(name)
        exprs.append(expr.cast(dtype).alias(name))
    return df.select(exprs)
