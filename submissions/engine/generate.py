"""Realistic DIDS files for tests, demos and benchmarks, with optional planted errors.

Columns are generated vectorised with polars; planted errors are applied to the few chosen
rows in Python (see planting.py), and the function returns where it planted what.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import polars as pl

from .context import LONDON, add_months
from .layout import load_layouts
from .planting import plant
from .planting_registry import PLANTERS, PlantedError, Setting
from .reference import ReferenceSnapshot

OUTWARD = ["LS1", "LS6", "LS7", "LS8", "LS9", "LS11", "LS12", "LS15", "LS17", "LS28", "HG1", "HG2",
           "WF3", "BD3", "SE1", "SE5", "N7", "BN2", "SS0", "B15", "M20", "CM1"]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
MODALITY_WEIGHTS = {"XRAY": 44, "US": 20, "CT": 15, "MRI": 10, "FLUORO": 3, "NM": 2, "PET": 1,
                    "SPECT": 1, "PHOTO": 1, "OTHER": 1}
SOURCE_WEIGHTS = {"01": 12, "02": 3, "03": 25, "04": 33, "05": 22, "06": 3, "07": 2}
ETHNIC_WEIGHTS = {"A": 60, "B": 1, "C": 5, "D": 1, "E": 1, "F": 1, "G": 1, "H": 3, "J": 3, "K": 1,
                  "L": 1, "M": 1, "N": 2, "P": 1, "R": 1, "S": 2, "Z": 8, "99": 6}


class _Random:
    """Vectorised random draws from polars, seeded."""

    def __init__(self, seed: int, n: int):
        self.seed, self.n = seed, n

    def _next(self) -> int:
        self.seed = (self.seed * 6364136223846793005 + 1442695040888963407) % (1 << 63)
        return self.seed

    def ints(self, low: int, high: int) -> pl.Series:
        """Uniform integers in [low, high)."""
        span = high - low
        if span <= 2_000_000:
            return pl.int_range(low, high, eager=True).sample(self.n, with_replacement=True, seed=self._next())
        hi = pl.int_range(0, span // 1_000_000 + 1, eager=True).sample(self.n, with_replacement=True, seed=self._next())
        lo = pl.int_range(0, 1_000_000, eager=True).sample(self.n, with_replacement=True, seed=self._next())
        return ((hi * 1_000_000 + lo) % span + low).alias("x")

    def choice(self, weights: Mapping[str, float] | list[str]) -> pl.Series:
        if isinstance(weights, list):
            weights = dict.fromkeys(weights, 1)
        values, cum, total = list(weights), [], 0.0
        for w in weights.values():
            total += w
            cum.append(total)
        u = self.ints(0, 1_000_000).cast(pl.Float64) / 1_000_000 * total
        idx = pl.Series(cum).search_sorted(u, side="right").clip(0, len(values) - 1)
        return pl.Series(values, dtype=pl.String).gather(idx)


def _nhs_numbers(r: _Random, n: int) -> pl.Series:
    out = pl.Series([], dtype=pl.Int64)
    while out.len() < n:
        prefix = r.ints(400_000_000, 800_000_000)
        df = pl.DataFrame({"p": prefix})
        total = sum(((pl.col("p") // 10 ** (8 - i)) % 10) * (10 - i) for i in range(9))
        check = 11 - total % 11
        df = df.with_columns(pl.when(check == 11).then(0).otherwise(check).alias("c"))
        df = df.filter(pl.col("c") != 10)
        out = pl.concat([out, (df["p"] * 10 + df["c"]).cast(pl.Int64)])
    return out.head(n).cast(pl.String)


def _pools(reference: ReferenceSnapshot, org: str, start: date, end: date) -> dict[str, list[str]]:
    def open_(o: date | None, c: date | None) -> bool:
        return (o is None or o <= start) and (c is None or c >= end)

    sites = [s.code for s in reference.sites.values() if s.organisation == org and open_(s.opened, s.closed)]
    if not sites:
        raise ValueError(f"no open site of {org} in the reference data")
    gps = [o.code for o in reference.organisations.values() if o.type == "gp_practice" and open_(o.opened, o.closed)]
    trusts = [o.code for o in reference.organisations.values()
              if o.type not in ("gp_practice", "default") and o.code != org and open_(o.opened, o.closed)]
    return {"sites": sites, "gps": gps or ["V81999"], "trusts": trusts or ["X99999"]}


def _imaging(reference: ReferenceSnapshot, start: date, end: date) -> dict[str, list[tuple[str, str]]]:
    by_mod: dict[str, list[tuple[str, str]]] = {}
    for n in reference.nicip.values():
        s = reference.snomed.get(n.snomed_code or "")
        if n.valid_to is None and (n.valid_from is None or n.valid_from <= start) and s and s.valid_to is None \
                and (s.valid_from is None or s.valid_from <= start):
            by_mod.setdefault(n.modality, []).append((n.code, s.concept_id))
    return by_mod


def _offset(day: date) -> str:
    return "+01:00" if datetime(day.year, day.month, day.day, 12, tzinfo=LONDON).utcoffset() == timedelta(hours=1) else "Z"


def generate_frame(*, rows: int, org: str, month: date, dataset_version: str, reference: ReferenceSnapshot,
                   seed: int) -> pl.DataFrame:
    """A clean file's records as text columns in TOS order."""
    layout = load_layouts()[dataset_version]
    start = month.replace(day=1)
    end = add_months(start, 1) - timedelta(days=1)
    r = _Random(seed, rows)
    pools = _pools(reference, org, start, end)
    imaging = _imaging(reference, start, end)
    weights = {m: w for m, w in MODALITY_WEIGHTS.items() if m in imaging}
    modality = r.choice(weights)
    pick = r.ints(0, 1 << 30)
    nicip: pl.Series | pl.Expr
    snomed: pl.Series | pl.Expr
    nicip, snomed = pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.String)
    codes = pl.DataFrame({"m": modality, "k": pick}).with_row_index("i")
    parts = []
    for m, options in imaging.items():
        sub = codes.filter(pl.col("m") == m)
        idx = (sub["k"] % len(options)).cast(pl.Int64)
        parts.append(sub.select("i").with_columns(
            pl.Series([o[0] for o in options]).gather(idx).alias("n"),
            pl.Series([o[1] for o in options]).gather(idx).alias("s")))
    both = pl.concat(parts).sort("i")
    which = r.choice({"both": 60, "nicip": 30, "snomed": 10})
    nicip = pl.when(which == "snomed").then(None).otherwise(both["n"])
    snomed = pl.when(which == "nicip").then(None).otherwise(both["s"])
    source = r.choice(SOURCE_WEIGHTS)
    days = (end - start).days + 1
    test = pl.lit(start) + pl.duration(days=r.ints(0, days))  # type: ignore[arg-type]  # polars stub: a Series is accepted
    wait_cap = pl.Series([0, 2, 2, 120, 40, 0, 60, 90]).gather(source.cast(pl.Int64))
    wait = (r.ints(0, 1 << 20) % (wait_cap + 1)).alias("w")
    got = r.ints(0, 3)
    age = r.ints(0, 95 * 365)
    report_gap = r.ints(0, 11)
    gp = r.choice(pools["gps"])
    df = pl.DataFrame({"source": source, "wait": wait, "got": got, "age": age, "gap": report_gap, "gp": gp})
    df = df.with_columns(
        test.alias("test"),
        (pl.lit(start) + pl.duration(days=r.ints(0, days))).alias("_unused"),  # type: ignore[arg-type]  # polars stub: a Series is accepted
    ).drop("_unused")
    df = df.with_columns((pl.col("test") - pl.duration(days=pl.col("wait"))).alias("request"))
    df = df.with_columns(
        pl.min_horizontal(pl.col("request") + pl.duration(days=pl.col("got")), pl.col("test")).alias("received"),
        (pl.col("request") - pl.duration(days=pl.col("age"))).alias("birth"),
        pl.min_horizontal(pl.col("test") + pl.duration(days=pl.col("gap")), pl.lit(end)).alias("report"),
    )
    referrer = pl.concat_str([r.choice({"C": 45, "G": 40, "D": 3}), r.ints(1_000_000, 10_000_000).cast(pl.String)])
    referrer = pl.when(r.ints(0, 100) < 3).then(pl.lit("X9999998")).otherwise(referrer)
    referring = (
        pl.when(pl.col("source") == "04").then(pl.col("gp"))
        .when(pl.col("source") == "06").then(r.choice(pools["trusts"]))
        .when(pl.col("source") == "07").then(pl.lit("X99998"))
        .otherwise(pl.lit(org))
    )
    postcode = pl.concat_str([r.choice(OUTWARD), pl.lit(" "), r.ints(0, 10).cast(pl.String),
                              r.choice(list(LETTERS)), r.choice(list(LETTERS))])
    nhs: pl.Series | pl.Expr = _nhs_numbers(r, rows)
    nhs = pl.when(r.ints(0, 100) < 3).then(None).otherwise(nhs)
    yymm = start.strftime("%y%m")
    out = df.select(
        nhs.alias("nhs_number"),
        r.choice({"01": 90, "02": 6, "03": 4}).alias("nhs_number_status"),
        pl.col("birth").dt.strftime("%Y-%m-%d").alias("birth_date"),
        r.choice(ETHNIC_WEIGHTS).alias("ethnic_category"),
        r.choice({"1": 47, "2": 51, "0": 1, "9": 1}).alias("gender"),
        postcode.alias("postcode"),
        pl.col("gp").alias("gp_practice"),
        pl.col("source").alias("patient_source_setting"),
        referrer.alias("referrer_code"),
        referring.alias("referring_org"),
        pl.col("request").dt.strftime("%Y-%m-%d").alias("request_date"),
        pl.col("received").dt.strftime("%Y-%m-%d").alias("request_received_date"),
        pl.col("test").alias("_test"),
        nicip.alias("nicip_code"),
        snomed.alias("snomed_code"),
        pl.col("report").alias("_report"),
        r.choice(pools["sites"]).alias("site_code"),
        pl.concat_str([pl.lit(f"{org}{yymm}"), pl.int_range(0, rows).cast(pl.String).str.zfill(9)]).alias("accession_number"),
    )
    if dataset_version == "1.0":
        out = out.with_columns(
            pl.col("_test").dt.strftime("%Y-%m-%d").alias("test_date"),
            pl.col("_report").dt.strftime("%Y-%m-%d").alias("report_date"),
        )
    else:
        offsets = {start + timedelta(days=i): _offset(start + timedelta(days=i)) for i in range(days)}
        off = pl.DataFrame({"d": list(offsets), "o": list(offsets.values())})
        minutes = r.ints(8 * 60, 20 * 60)
        category = r.choice({"01": 50, "02": 20, "03": 30})
        out = out.with_columns(minutes.alias("_min"), category.alias("activity_category"),
                               r.ints(5, 61).alias("_len"))
        out = out.join(off, left_on="_test", right_on="d", how="left", maintain_order="left").rename({"o": "_o1"})
        out = out.join(off, left_on="_report", right_on="d", how="left", maintain_order="left").rename({"o": "_o2"})
        begin = pl.col("_test").cast(pl.Datetime("us")) + pl.duration(minutes=pl.col("_min"))
        finish = begin + pl.duration(minutes=pl.col("_len"))
        issued = pl.col("_report").cast(pl.Datetime("us")) + pl.duration(minutes=pl.col("_min") + 120)
        fmt = "%Y-%m-%dT%H:%M:%S"
        out = out.with_columns(
            pl.concat_str([begin.dt.strftime(fmt), pl.col("_o1")]).alias("procedure_start"),
            pl.concat_str([finish.dt.strftime(fmt), pl.col("_o1")]).alias("procedure_end"),
            pl.concat_str([issued.dt.strftime(fmt), pl.col("_o2")]).alias("report_issued"),
            r.choice({"Y": 30, "N": 70}).alias("evaluation_indicator"),
            pl.when(pl.col("activity_category") == "01").then(pl.col("request_date")).alias("waiting_list_clock_start"),
        )
    return out.select(layout.columns)


def generate_file(
    path_or_fileobj: str | Path | BinaryIO,
    *,
    rows: int,
    org: str,
    month: date,
    dataset_version: str,
    reference: ReferenceSnapshot,
    error_rate: float = 0.0,
    seed: int | None = None,
    header: bool = True,
) -> list[PlantedError]:
    """Write a realistic DIDS CSV; plant errors in about error_rate of the rows.

    With error_rate 0 the file raises no finding for submitting_org=org, that month, and
    as_of the first day of the next month at noon (Europe/London).
    """
    seed = random.randrange(1 << 31) if seed is None else seed
    df = generate_frame(rows=rows, org=org, month=month, dataset_version=dataset_version,
                        reference=reference, seed=seed)
    planted: list[PlantedError] = []
    if error_rate > 0 and rows > 2:
        setting = Setting.build(version=dataset_version, org=org, month=month, reference=reference)
        df, planted = plant(df, setting, error_rate, random.Random(seed), list(PLANTERS))
    df.write_csv(path_or_fileobj, include_header=header)
    return planted
