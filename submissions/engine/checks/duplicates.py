"""DIDS071: duplicate record keys across the whole file (every occurrence after the first)."""

from __future__ import annotations

import polars as pl

SEP = "\x1f"


class DuplicateKeys:
    """Remembers the first occurrence of every (site code, accession number) seen so far.

    Membership is tested on 64-bit hashes; hash hits are confirmed on the exact key, so a
    collision can never reject a record.
    """

    def __init__(self, items: tuple[str, ...]):
        self.items = items
        self._seen: list[pl.DataFrame] = []  # columns h (u64), k (str), first (line)

    def check(self, df: pl.DataFrame) -> tuple[pl.Series, dict[int, int]]:
        """A mask of duplicate rows in this batch, and their first occurrence line by line."""
        k = pl.concat_str([pl.col(c) for c in self.items], separator=SEP)
        keys = df.select("line", k.alias("k")).with_columns(pl.col("k").hash(seed=7).alias("h"))
        present = keys["k"].is_not_null()
        first_here = keys.select(pl.col("k").is_first_distinct())["k"] & present
        prior = pl.Series("prior", [False] * keys.height, dtype=pl.Boolean)
        seen = pl.concat(self._seen) if self._seen else None
        if seen is not None:
            hit = keys["h"].is_in(seen["h"].implode()) if keys.height else prior
            if hit.any():
                exact = keys.filter(hit).join(seen, on="k", how="semi")["line"]
                prior = keys["line"].is_in(exact.implode())
        dup = present & (~first_here | prior)
        firsts: dict[int, int] = {}
        if dup.any():
            dups = keys.filter(dup)
            earlier = pl.concat([
                keys.filter(first_here & ~prior).select("k", pl.col("line").alias("first")),
                seen.select("k", "first") if seen is not None else pl.DataFrame(
                    schema={"k": pl.String, "first": pl.Int64}),
            ])
            lookup = dups.join(earlier.group_by("k").agg(pl.col("first").min()), on="k", how="left")
            firsts = dict(zip(lookup["line"].to_list(), lookup["first"].to_list(), strict=True))
        new = keys.filter(first_here & ~prior).select("h", "k", pl.col("line").alias("first"))
        if new.height:
            self._seen.append(new)
        if len(self._seen) > 16:
            self._seen = [pl.concat(self._seen).rechunk()]
        return dup, firsts
