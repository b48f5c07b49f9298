"""The blanks trimmed around every value a file holds, and where a column may have them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

BLANK = " \t\u00a0"  # trimmed around every value: spaces, tabs and Excel's non-breaking spaces
# A non-breaking space is C2 A0 in UTF-8. Looking for the lead byte alone is a fast single-byte
# search; the rare other characters that share it only cost a strip that changes nothing.
NBSP_LEAD = b"\xc2"

_EDGE = np.zeros(256, dtype=bool)
_EDGE[[0x20, 0x09, 0xC2, 0xA0]] = True  # a blank's first or last byte (NBSP: C2 A0)


def edged(col: pa.Array, data: bytes) -> bool:
    """Whether a value may start or end with a blank (a postcode's inner space needs no trim)."""
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=len(col) + 1, offset=4 * col.offset)
    starts, ends = offsets[:-1], offsets[1:]
    some = ends > starts
    text = np.frombuffer(data, dtype=np.uint8)
    return bool(_EDGE[text[starts[some]]].any() or _EDGE[text[ends[some] - 1]].any())


def trimmed(column: str) -> pl.Expr:
    """Surrounding spaces, tabs and non-breaking spaces removed; an empty value is null."""
    s = pl.col(column).str.strip_chars(BLANK)
    return pl.when(s.str.len_bytes() == 0).then(None).otherwise(s).alias(column)
