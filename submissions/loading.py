"""Storing a version's records and findings in bulk: COPY on PostgreSQL, batched inserts elsewhere.

Callers run this inside the version's transaction, so a version is complete or absent.

On PostgreSQL the engine and an encoder run in threads while this thread streams the
accepted rows into one binary ``COPY`` (see ``submissions.pgcopy``): validation, encoding and
the server's storing of the rows proceed side by side on the two cores. The queues between
them are short, so memory stays flat whatever the file's size. Findings are spooled to a temporary file and copied
after the records (one COPY at a time per connection).
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, cast

import polars as pl
from django.db import connection
from django.dispatch import Signal

from submissions.engine.layout import DERIVED_COLUMNS, record_item_columns, stored_columns
from submissions.models import Finding, Record
from submissions.pgcopy import SIGNATURE, TRAILER, encode_rows
from submissions.tally import StatisticsTally

RECORD_TABLE = Record._meta.db_table
FINDING_TABLE = Finding._meta.db_table
FINDING_COLUMNS = ("line", "item", "rule", "severity", "message", "value", "expected")
FINDING_SCHEMA = [("submission_id", pl.Int64), ("line", pl.Int64),
                  *[(c, pl.String) for c in FINDING_COLUMNS[1:]]]
CSV_OPTIONS: dict[str, Any] = {"include_header": False, "null_value": "",
                               "datetime_format": "%Y-%m-%dT%H:%M:%S%.f%:z",
                               "quote_style": "necessary"}
# The one map from the record table's field types to column types: the binary COPY type and
# the polars type (the engine's storage types map to the same polars types).
FIELD_TYPES: dict[str, tuple[str, pl.DataType | type[pl.DataType]]] = {
    "ForeignKey": ("int8", pl.Int64), "PositiveIntegerField": ("int4", pl.Int64),
    "TextField": ("text", pl.String), "DateField": ("date", pl.Date),
    "DateTimeField": ("timestamptz", pl.Datetime("us", "UTC"))}
QUEUE_DEPTH = 2
# The columns a version gives each of its records (the month is the partition key on PostgreSQL).
VERSION_COLUMNS = ("submission_id", "activity_month")
_DONE = object()


class _Stopped(Exception):  # not an error: the load has failed elsewhere
    """Raised in the engine's thread to end it once the load has failed."""

# What the engine is run with: (on_clean_batch, on_findings) -> its report.
EngineRun = Callable[[Callable[[pl.DataFrame], None], Callable[[Sequence[Any]], None]], Any]


# Sent each time a batch of rows is written, with ``kind`` ("records" of a version, "extract"
# rows) and ``done`` (rows written so far). The product connects nothing to it; the fault
# tests' worker (tests/clocked_celery.py) connects a receiver that kills the process mid-write.
rows_written = Signal()


def rows_reported(on_rows: Callable[[int], None], *, kind: str) -> Callable[[int], None]:
    """``on_rows``, then the ``rows_written`` signal (one call a batch, not a row)."""

    def report(done: int) -> None:
        on_rows(done)
        rows_written.send(sender=kind, kind=kind, done=done)

    return report


def record_columns() -> tuple[str, ...]:
    """The record columns the engine fills, in table order (without the version's: id,
    submission and activity month)."""
    return tuple(cast(str, f.column) for f in Record._meta.concrete_fields
                 if f.column not in VERSION_COLUMNS and f.column != "id")


def record_column_kinds(columns: Sequence[str] | None = None) -> tuple[str, ...]:
    """The binary COPY type of each record column (default: all), the version's first."""
    fields = {f.column: f for f in Record._meta.concrete_fields}
    return tuple(FIELD_TYPES[fields[c].get_internal_type()][0]
                 for c in (*VERSION_COLUMNS, *(record_columns() if columns is None else columns)))


def copied_columns(dataset_version: str) -> tuple[str, ...]:
    """The record columns a version's COPY sends: the other dataset version's items are
    always empty, and a column left out of COPY is stored as NULL without being sent; an item
    the spec stores in a derived column (``record``: v1.0's test date) has none of its own."""
    stored = set(stored_columns(dataset_version)) & {*record_item_columns(), *DERIVED_COLUMNS}
    return tuple(c for c in record_columns() if c in stored)


def _copy_sql(table: str, columns: Sequence[str], not_null: Sequence[str] = (), *,
              binary: bool = False) -> str:
    column_sql = ", ".join(f'"{c}"' for c in columns)
    if binary:
        return f"COPY {table} ({column_sql}) FROM STDIN WITH (FORMAT binary)"
    options = "FORMAT csv"
    if not_null:
        options += ", FORCE_NOT_NULL (" + ", ".join(f'"{c}"' for c in not_null) + ")"
    return f"COPY {table} ({column_sql}) FROM STDIN WITH ({options})"


def _warned(batch: pl.DataFrame) -> int:
    """How many of the batch's records carry a warning."""
    return batch.height - batch["warnings"].null_count()


class VersionWriter:
    """Loads one version's accepted records and findings into their tables."""

    def __init__(self, submission_id: int, *, activity_month: date,
                 on_rows: Callable[[int], None] | None = None) -> None:
        self.submission_id = submission_id
        self.activity_month = activity_month
        self.columns = record_columns()
        self.on_rows = rows_reported(on_rows or (lambda done: None), kind="records")
        self.records_written = 0
        self.findings_written = 0
        # Records stored with at least one warning (the quality score's count).
        self.warned_records = 0
        # The statistics' counts of the stored records (submissions/tally.py).
        self.tally = StatisticsTally()

    # Shapes ---------------------------------------------------------------------------------
    def _record_frame(self, batch: pl.DataFrame,
                      columns: Sequence[str] | None = None) -> pl.DataFrame:
        return batch.select(pl.lit(self.submission_id, dtype=pl.Int64).alias("submission_id"),
                            pl.lit(self.activity_month, dtype=pl.Date).alias("activity_month"),
                            *[pl.col(c) for c in (self.columns if columns is None else columns)])

    def _finding_rows(self, findings: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [(self.submission_id, f.line, f.item or "", f.rule, f.severity, f.message,
                 f.value or "", f.expected or "") for f in findings]

    # The load ---------------------------------------------------------------------------------
    def load(self, run_engine: EngineRun) -> Any:
        """Run the engine, storing what it accepts and finds; returns the engine's report."""
        if connection.vendor == "postgresql":
            return self._load_postgres(run_engine)
        return run_engine(self._insert_records, self._insert_findings)

    def _load_postgres(self, run_engine: EngineRun) -> Any:
        # Three stages on two cores: the engine (polars) and the encoder (numpy/Arrow) in
        # threads, both mostly outside the GIL, and the server parsing the COPY. The engine's
        # thread is the longest of them (it reads and checks on one pyarrow thread), so it
        # only hands its batches on: the encoder counts them (warnings, the statistics' tally)
        # and shapes them for the COPY.
        frames: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
        chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
        findings_spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
        outcome: dict[str, Any] = {}
        # Chosen on the first batch, by its dataset version (one per file: a file mixing
        # versions is rejected, and its rows discarded).
        shape: dict[str, tuple[str, ...]] = {}
        # Set when the load fails: the engine stops at its next batch, the encoder drops
        # what is left; each thread still consumes its own queue to the end, so no one waits.
        stop = threading.Event()

        def on_clean_batch(batch: pl.DataFrame) -> None:
            if stop.is_set():
                raise _Stopped
            if batch.height:
                if not shape:
                    shape["columns"] = copied_columns(str(batch["dataset_version"][0]))
                    shape["kinds"] = record_column_kinds(shape["columns"])
                frames.put(batch)  # counted and shaped by the encoder, off the engine's path

        def on_findings(findings: Sequence[Any]) -> None:
            if stop.is_set():
                raise _Stopped
            if findings:
                frame = pl.DataFrame(self._finding_rows(findings), schema=FINDING_SCHEMA,
                                     orient="row")
                frame.write_csv(findings_spool, **CSV_OPTIONS)
                self.findings_written += len(findings)

        def run() -> None:
            try:
                outcome["report"] = run_engine(on_clean_batch, on_findings)
            except BaseException as exc:  # handed to the loading thread, re-raised there
                outcome["error"] = exc
            finally:
                frames.put(_DONE)

        def encode() -> None:
            try:
                while (batch := frames.get()) is not _DONE:
                    if not stop.is_set():
                        self.warned_records += _warned(batch)
                        self.tally.add(batch)
                        frame = self._record_frame(batch, shape["columns"])
                        chunks.put((frame.height, encode_rows(frame, shape["kinds"])))
            except BaseException as exc:
                outcome.setdefault("error", exc)
                stop.set()
                while frames.get() is not _DONE:  # let the engine finish
                    pass
            finally:
                chunks.put(_DONE)

        workers = [threading.Thread(target=run, name=f"dids-engine-{self.submission_id}",
                                    daemon=True),
                   threading.Thread(target=encode, name=f"dids-encode-{self.submission_id}",
                                    daemon=True)]
        try:
            # The raw cursor's errors come as Django's (a lost connection is an
            # OperationalError, which the task retries), and mark the connection unusable.
            with connection.cursor() as cursor, connection.wrap_database_errors:
                raw = cursor.cursor  # psycopg's cursor, inside Django's transaction
                for worker in workers:
                    worker.start()
                # The COPY starts with the first encoded batch, when its columns are known.
                if (item := chunks.get()) is not _DONE:
                    sql = _copy_sql(RECORD_TABLE, (*VERSION_COLUMNS, *shape["columns"]),
                                    binary=True)
                    with raw.copy(sql) as copy:
                        copy.write(SIGNATURE)
                        while item is not _DONE:
                            rows, data = item
                            copy.write(data)
                            self.records_written += rows
                            self.on_rows(self.records_written)
                            item = chunks.get()
                        copy.write(TRAILER)
                for worker in workers:
                    worker.join()
                if "error" in outcome:
                    raise outcome["error"]
                findings_spool.seek(0)
                with raw.copy(_copy_sql(FINDING_TABLE, ("submission_id", *FINDING_COLUMNS),
                                        not_null=("item", "value", "expected"))) as copy:
                    while data := findings_spool.read(1 << 20):
                        copy.write(data)
        finally:
            # If the COPY failed: stop the workers, and take what the encoder still hands over
            # (only this thread reads that queue) until both have finished.
            stop.set()
            while any(worker.is_alive() for worker in workers):
                with contextlib.suppress(queue.Empty):
                    chunks.get(timeout=0.05)
            findings_spool.close()
        return outcome["report"]

    def discard_records(self) -> None:
        """Drop this version's records (a file rejected after some batches were stored)."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {RECORD_TABLE} WHERE submission_id = %s "  # noqa: S608
                           "AND activity_month = %s", [self.submission_id, self.activity_month])
        self.records_written = 0
        self.warned_records = 0
        self.tally.clear()

    # The fallback (SQLite): batched inserts, no per-row statements ---------------------------
    def _insert_records(self, batch: pl.DataFrame) -> None:
        if batch.height:
            self._insert(RECORD_TABLE, (*VERSION_COLUMNS, *self.columns),
                         self._record_frame(batch).rows())
            self.records_written += batch.height
            self.warned_records += _warned(batch)
            self.tally.add(batch)
            self.on_rows(self.records_written)

    def _insert_findings(self, findings: Sequence[Any]) -> None:
        if findings:
            self._insert(FINDING_TABLE, ("submission_id", *FINDING_COLUMNS),
                         self._finding_rows(findings))
            self.findings_written += len(findings)

    @staticmethod
    def _insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                chunk: int = 2000) -> None:
        column_sql = ", ".join(f'"{c}"' for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})"  # noqa: S608
        with connection.cursor() as cursor:
            for start in range(0, len(rows), chunk):
                cursor.executemany(sql, rows[start:start + chunk])
