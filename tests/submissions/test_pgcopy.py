"""The binary COPY encoder, checked by PostgreSQL itself reading what it wrote."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from django.db import connection

from submissions.pgcopy import SIGNATURE, TRAILER, encode_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

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


def test_postgresql_reads_back_every_value_and_null_that_was_encoded():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE copy_probe (id8 bigint, n4 integer, txt text, "
                       "day date, ts timestamptz)")
        with cursor.cursor.copy("COPY copy_probe FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(SIGNATURE)
            copy.write(encode_rows(FRAME.head(2), ["int8", "int4", "text", "date", "timestamptz"]))
            copy.write(encode_rows(FRAME.tail(2), ["int8", "int4", "text", "date", "timestamptz"]))
            copy.write(TRAILER)
        cursor.execute("SELECT id8, n4, txt, day, ts FROM copy_probe")
        rows = cursor.fetchall()
    expected = [tuple(r) for r in FRAME.rows()]
    assert [(a, b, c, d, e) for a, b, c, d, e in rows] == expected


def test_an_empty_frame_encodes_to_nothing():
    assert encode_rows(FRAME.clear(), ["int8", "int4", "text", "date", "timestamptz"]) == b""
