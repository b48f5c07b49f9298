"""Storing a version's records and findings in bulk: COPY on PostgreSQL, batched inserts elsewhere.

Callers run these inside the version's transaction, so a version is complete or absent.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db import connection

from submissions.models import Finding, Record

RECORD_TABLE = Record._meta.db_table
FINDING_TABLE = Finding._meta.db_table
FINDING_COLUMNS = ("line", "item", "rule", "severity", "message", "value", "expected")


def record_columns() -> tuple[str, ...]:
    """The record columns the engine fills, in table order (without id and submission)."""
    return tuple(f.column for f in Record._meta.concrete_fields
                 if f.column not in {"id", "submission_id"})


class VersionWriter:
    """Appends one version's accepted records and findings to their tables."""

    def __init__(self, submission_id: int) -> None:
        self.submission_id = submission_id
        self.columns = record_columns()
        self.records_written = 0
        self.findings_written = 0
        self.postgres = connection.vendor == "postgresql"

    # Records ----------------------------------------------------------------------------
    def write_records(self, batch: pl.DataFrame) -> None:
        if batch.height == 0:
            return
        frame = batch.select(
            pl.lit(self.submission_id, dtype=pl.Int64).alias("submission_id"),
            *[pl.col(c) for c in self.columns],
        )
        if self.postgres:
            self._copy(RECORD_TABLE, ("submission_id", *self.columns), frame)
        else:
            self._insert(RECORD_TABLE, ("submission_id", *self.columns), frame.rows())
        self.records_written += batch.height

    # Findings ---------------------------------------------------------------------------
    def write_findings(self, findings: Sequence[Any]) -> None:
        if not findings:
            return
        rows = [
            (self.submission_id, f.line, f.item or "", f.rule, f.severity, f.message,
             f.value or "", f.expected or "")
            for f in findings
        ]
        if self.postgres:
            frame = pl.DataFrame(rows, schema=[("submission_id", pl.Int64), ("line", pl.Int64),
                                               *[(c, pl.Utf8) for c in FINDING_COLUMNS[1:]]],
                                 orient="row")
            self._copy(FINDING_TABLE, ("submission_id", *FINDING_COLUMNS), frame,
                       not_null=("item", "value", "expected"))
        else:
            self._insert(FINDING_TABLE, ("submission_id", *FINDING_COLUMNS), rows)
        self.findings_written += len(rows)

    def discard_records(self) -> None:
        """Drop this version's records (a file rejected after some batches were stored)."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {RECORD_TABLE} WHERE submission_id = %s",  # noqa: S608
                           [self.submission_id])
        self.records_written = 0

    # Transports -------------------------------------------------------------------------
    @staticmethod
    def _copy(table: str, columns: Sequence[str], frame: pl.DataFrame,
              not_null: Sequence[str] = ()) -> None:
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="",
                        datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z", quote_style="necessary")
        column_sql = ", ".join(f'"{c}"' for c in columns)
        options = "FORMAT csv"
        if not_null:
            options += ", FORCE_NOT_NULL (" + ", ".join(f'"{c}"' for c in not_null) + ")"
        sql = f"COPY {table} ({column_sql}) FROM STDIN WITH ({options})"
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(sql) as copy:
                copy.write(buffer.getbuffer())

    @staticmethod
    def _insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                chunk: int = 2000) -> None:
        column_sql = ", ".join(f'"{c}"' for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})"  # noqa: S608
        with connection.cursor() as cursor:
            for start in range(0, len(rows), chunk):
                cursor.executemany(sql, rows[start:start + chunk])
