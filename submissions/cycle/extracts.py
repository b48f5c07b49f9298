"""The national extract of a frozen product: CSV or Parquet, NHS numbers pseudonymised.

Each NHS number becomes HMAC-SHA256 under ``DIDS_PSEUDONYM_KEY`` (hex): the same patient has
the same pseudonym in every extract made with the same key, and the number cannot be
recovered without it. Records are read in batches through a server-side cursor.
"""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import Callable
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files import File
from django.db import connection, transaction

from dids_portal.lib.csvsafe import FORMULA_STARTS
from submissions.choices import ExtractFormat
from submissions.loading import FIELD_TYPES
from submissions.models import CutOffVersion, Extract, Record

BATCH = 100_000


def pseudonym(nhs_number: str, key: bytes) -> str:
    return hmac.digest(key, nhs_number.encode(), "sha256").hex()  # one C call


def pseudonyms(numbers: list[str], key: bytes) -> list[str]:
    """``pseudonym`` of each number, many at a time: HMAC-SHA256 (RFC 2104) from the key's
    inner and outer SHA-256 states computed once, rather than once a number."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    out = []
    for number in numbers:
        step = inner.copy()
        step.update(number.encode())
        last = outer.copy()
        last.update(step.digest())
        out.append(last.hexdigest())
    return out


def pseudonym_array(numbers: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """``pseudonym`` of each value of a string column (nulls stay null), computed once per
    distinct value: the column is dictionary-encoded, its dictionary pseudonymised and the
    indices taken from it."""
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks()
    encoded = numbers.dictionary_encode()
    distinct = pa.array(pseudonyms(encoded.dictionary.to_pylist(), key), pa.string())
    return distinct.take(encoded.indices)


def _pseudonymise(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    numbers = frame["nhs_number"].drop_nulls().unique().to_list()
    mapping = dict(zip(numbers, pseudonyms(numbers, key), strict=True))
    return frame.with_columns(
        pl.col("nhs_number").replace_strict(mapping, default=None, return_dtype=pl.String)
        .alias("nhs_number_pseudonym")).drop("nhs_number")


def _formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    starts = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c))
        .alias(c) for c, dtype in frame.schema.items() if dtype == pl.String)


def write_extract(extract: Extract, *, on_rows: Callable[[int], None]) -> None:
    key = (settings.DIDS_PSEUDONYM_KEY or "").encode()
    if not key:
        raise RuntimeError("DIDS_PSEUDONYM_KEY is not set")
    # The month is the extract's own (in its name), not a column of each row.
    columns = [str(f.column) for f in Record._meta.concrete_fields
               if f.column not in {"warnings", "activity_month"}]
    ids = list(CutOffVersion.objects.filter(cutoff=extract.cutoff)
               .values_list("submission_id", flat=True))
    select = ", ".join(f'r."{c}"' for c in columns)
    placeholders = ", ".join(["%s"] * len(ids)) or "NULL"
    sql = (f"SELECT s.organisation_id AS organisation, {select} "  # noqa: S608
           f"FROM {Record._meta.db_table} r JOIN {CutOffVersion._meta.db_table} v "
           f"ON v.submission_id = r.submission_id AND v.cutoff_id = %s "
           f"JOIN submissions_submission s ON s.id = r.submission_id "
           f"WHERE r.activity_month = %s AND r.submission_id IN ({placeholders}) "
           "ORDER BY r.submission_id, r.line")
    names = ["organisation", *columns]
    schema: dict[str, Any] = {"organisation": pl.String}
    schema.update({str(f.column): FIELD_TYPES[f.get_internal_type()][1]
                   for f in Record._meta.concrete_fields if f.column in columns})
    month = f"{extract.cutoff.period.activity_month:%Y-%m}"
    filename = f"dids-extract-{month}-{extract.cutoff.kind}.{extract.format}"
    digest = hashlib.sha256()
    done = 0
    with tempfile.TemporaryFile() as out:
        writer = None
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(sql, [extract.cutoff_id, extract.cutoff.period.activity_month, *ids])
            first = True
            while rows := cursor.fetchmany(BATCH):
                frame = _pseudonymise(pl.DataFrame(rows, schema=schema, orient="row"), key)
                if extract.format == ExtractFormat.CSV:
                    _formula_safe(frame).write_csv(out, include_header=first)
                else:
                    table = frame.to_arrow()
                    if writer is None:
                        writer = pq.ParquetWriter(out, table.schema)
                    writer.write_table(table.cast(writer.schema))
                first = False
                done += frame.height
                on_rows(done)
        if writer is not None:
            writer.close()
        elif extract.format == ExtractFormat.PARQUET:
            _pseudonymise(pl.DataFrame(schema=schema), key).write_parquet(out)
        elif first:
            out.write((",".join(n if n != "nhs_number" else "nhs_number_pseudonym"
                                for n in names) + "\n").encode())
        out.seek(0)
        while chunk := out.read(1 << 20):
            digest.update(chunk)
        out.seek(0)
        extract.file.save(filename, File(out), save=False)
    extract.sha256 = digest.hexdigest()
    extract.rows_done = done
