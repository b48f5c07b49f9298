"""DIDS071: duplicate record keys across the whole file (every occurrence after the first)."""

from __future__ import annotations

import polars as pl


class DuplicateKeys:
    """Remembers the first occurrence of every (site code, accession number) seen so far.

    Candidates are found on 64-bit hashes (cheap), then confirmed on the exact key, so a hash
    collision can never reject a record. Memory: one hash, key and line per distinct key.
    """

    def __init__(self, items: tuple[str, ...]):
        self.items = items
        self._seen: list[pl.DataFrame] = []  # h, the key items, first (line)

    def _hash(self) -> pl.Expr:
        h = pl.lit(0, dtype=pl.UInt64)
        for n, c in enumerate(self.items):
            h = h ^ pl.col(c).hash(seed=7 + n)
        return h.alias("h")

    def check(self, df: pl.DataFrame) -> tuple[pl.Series, dict[int, int]]:
        """A mask of duplicate rows in this batch, and the line each duplicate first appeared at."""
        present = pl.all_horizontal(pl.col(c).is_not_null() for c in self.items)
        keys = df.select("line", *self.items, self._hash(), present.alias("p"))
        seen = self._seen_frame()
        candidates = keys.select(pl.col("h").is_duplicated() & pl.col("p")).to_series()
        # Earlier keys sharing a hash with this batch: few, and all the exact check needs.
        hits = None
        if seen is not None and seen.height:
            hits = seen.filter(pl.col("h").is_in(keys["h"].implode()))
            if hits.height:
                candidates = candidates | (keys["h"].is_in(hits["h"].implode()) & keys["p"])
        no_dup = pl.repeat(False, keys.height, dtype=pl.Boolean, eager=True).alias("dup")
        firsts: dict[int, int] = {}
        if candidates.any():
            cand = keys.filter(candidates).select("line", *self.items)
            earlier = cand.group_by(list(self.items)).agg(pl.col("line").min().alias("first"))
            if hits is not None and hits.height:
                prior = hits.select(*self.items, "first").join(cand.select(self.items).unique(), on=list(self.items))
                earlier = pl.concat([prior, earlier]).group_by(list(self.items)).agg(pl.col("first").min())
            cand = cand.join(earlier, on=list(self.items), how="left").filter(pl.col("line") > pl.col("first"))
            firsts = dict(zip(cand["line"].to_list(), cand["first"].to_list(), strict=True))
            dup = keys["line"].is_in(cand["line"].implode()) if cand.height else no_dup
        else:
            dup = no_dup
        new = keys.filter(pl.col("p") & ~dup).select("h", *self.items, pl.col("line").alias("first"))
        if firsts:
            new = new.unique(subset=list(self.items), keep="first", maintain_order=True)
        self._seen.append(new)
        return dup.alias("dup"), firsts

    def _seen_frame(self) -> pl.DataFrame | None:
        if not self._seen:
            return None
        if len(self._seen) > 1:
            self._seen = [pl.concat(self._seen)]
        return self._seen[0]
