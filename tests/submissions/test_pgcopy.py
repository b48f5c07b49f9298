"""The binary COPY encoder, checked by PostgreSQL itself reading what it wrote."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from submissions.pgcopy import PG_EPOCH_DAYS, SIGNATURE, TRAILER, encode_rows

KINDS = ["int8", "int4", "text", "date", "timestamptz"]

FRAME = pl.DataFrame(
    {
        "id8": [1, 2, None, 4],
        "n4": [10, None, 30, 2_000_000_000],
        "txt": ["ASCII", None, "", "Chloë ✓ and a \"quote\", comma\nnewline"],
        "day": [date(2026, 6, 1), date(1999, 12, 31), None, date(1900, 1, 2)],
        "ts": [datetime(2026, 6, 1, 9, 30, tzinfo=UTC), None,
               datetime(2000, 1, 1, tzinfo=UTC),
               datetime(1970, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)],
    },
    schema={"id8": pl.Int64, "n4": pl.Int32, "txt": pl.String, "day": pl.Date,
            "ts": pl.Datetime("us", "UTC")},
)


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_reads_back_every_value_and_null_that_was_encoded():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (id8 bigint, n4 integer, txt text, "
                       "day date, ts timestamptz)")
        with cursor.cursor.copy("COPY copy_probe FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(SIGNATURE)
            copy.write(encode_rows(FRAME.head(2), KINDS))
            copy.write(encode_rows(FRAME.tail(2), KINDS))
            copy.write(TRAILER)
        cursor.execute("SELECT id8, n4, txt, day, ts FROM copy_probe")
        rows = cursor.fetchall()
    expected = [tuple(r) for r in FRAME.rows()]
    assert [(a, b, c, d, e) for a, b, c, d, e in rows] == expected


def test_an_empty_frame_encodes_to_nothing():
    assert encode_rows(FRAME.clear(), KINDS) == b""


# The encoder against the format written out a row and a field at a time -------------------

def reference_encoding(frame: pl.DataFrame, kinds: list[str]) -> bytes:
    """Binary COPY rows as the PostgreSQL documentation describes them, one field at a time."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    out = bytearray()
    for row in frame.rows():
        out += struct.pack(">h", len(row))
        for value, kind in zip(row, kinds, strict=True):
            if value is None:
                out += struct.pack(">i", -1)
            elif kind == "text":
                data = value.encode()
                out += struct.pack(">i", len(data)) + data
            elif kind == "int8":
                out += struct.pack(">iq", 8, value)
            elif kind == "int4":
                out += struct.pack(">ii", 4, value)
            elif kind == "date":
                out += struct.pack(">ii", 4, value.toordinal() - date(1970, 1, 1).toordinal()
                                   - PG_EPOCH_DAYS)
            else:
                out += struct.pack(">iq", 8, (value - epoch) // timedelta(microseconds=1))
    return bytes(out)


TEXT = st.one_of(st.none(), st.text(max_size=3), st.text(min_size=6, max_size=6),
                 st.text(alphabet="ABC123", max_size=12),
                 st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=80))
ROW = st.tuples(
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    TEXT,
    st.one_of(st.none(), st.dates(date(1800, 1, 1), date(2200, 12, 31))),
    st.one_of(st.none(), st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1),
                                      timezones=st.just(UTC))),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROW, min_size=1, max_size=40),
       same=st.sampled_from(["mixed", "no nulls", "one length"]))
def test_every_batch_encodes_exactly_as_the_format_says(rows, same):
    """Batches with and without NULLs, text of one length or many, ASCII or not: the
    vectorised encoder writes the same bytes as the field-at-a-time reference."""
    if same == "no nulls":
        rows = [tuple(v if v is not None else d for v, d in zip(r, (0, 0, "", date(2000, 1, 1),
                                                                 datetime(2000, 1, 1, tzinfo=UTC)),
                                                                 strict=True)) for r in rows]
    elif same == "one length":
        rows = [(a, b, "X" * 5, d, e) for a, b, _c, d, e in rows]
    frame = pl.DataFrame(rows, schema=FRAME.schema, orient="row")
    assert encode_rows(frame, KINDS) == reference_encoding(frame, KINDS)


def test_a_column_of_one_text_length_and_all_null_columns_encode_exactly():
    frame = pl.DataFrame({"a": ["ABCDEF"] * 3, "b": [None, None, None], "c": ["x", "", "yz"]},
                         schema={"a": pl.String, "b": pl.Date, "c": pl.String})
    kinds = ["text", "date", "text"]
    assert encode_rows(frame, kinds) == reference_encoding(frame, kinds)
