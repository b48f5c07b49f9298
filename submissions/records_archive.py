"""Superseded versions' records in Parquet: the archive file, and reading it back.

A superseded version that no cut-off took keeps its file, findings, history and audit for
ever; its parsed records leave the records table for a zstd-compressed Parquet file beside
the version's stored file, in the same storage (``<upload name>.records.parquet``;
``submissions.archive_services`` moves them). The file has one column per column of the
records table, with the table's types, in line order.

Whatever reads a version's records in SQL (the version diff, the statistics of a product and
so ``monthly_stats --rebuild``) takes its table from ``records_source``: the records table
itself, or, when some of the versions are archived, the records table and a temporary table
loaded from their Parquet files for the length of the read; the user sees the same result.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from django.db import connection, transaction

from submissions.models import Record, Submission

RECORD_TABLE = Record._meta.db_table
SUFFIX = ".records.parquet"
BATCH = 200_000
COPY_BLOCK = 16 << 20  # bytes of CSV rows parsed at a time
ARROW_TYPES = {"ForeignKey": pa.int64(), "PositiveIntegerField": pa.int64(),
               "TextField": pa.string(), "DateField": pa.date32(),
               "DateTimeField": pa.timestamp("us", tz="UTC")}


def archive_schema() -> pa.Schema:
    """The archive's columns: the records table's, with its types."""
    return pa.schema([(str(f.column), ARROW_TYPES[f.get_internal_type()])
                      for f in Record._meta.concrete_fields if f.column])


def archive_name(submission: Submission) -> str:
    """Beside the version's stored file: ``<name without .upload>.records.parquet``."""
    name = str(submission.file.name)
    return name.removesuffix(".upload") + SUFFIX


# Writing --------------------------------------------------------------------------------------

def _copy_reader(cursor: Any, sql: str, blocks: queue.Queue[Any], stop: threading.Event) -> None:
    """Run the COPY, putting blocks of whole rows (the server sends one row a message) on
    ``blocks``, then None; an error instead where it fails. Once ``stop`` is set, it reads the
    rest and drops it, so that the connection is left at the end of the COPY."""
    try:
        with cursor.copy(sql) as copy:
            chunks: list[bytes] = []
            size = 0
            for data in copy:
                if stop.is_set():
                    continue
                chunks.append(data)
                size += len(data)
                if size >= COPY_BLOCK:
                    _put(blocks, b"".join(chunks), stop)
                    chunks, size = [], 0
            if chunks:
                _put(blocks, b"".join(chunks), stop)
        _put(blocks, None, stop)
    except BaseException as error:  # handed to the reading thread, raised there
        _put(blocks, error, stop)


def _put(blocks: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            blocks.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def copy_batches(select: str, schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows of ``select`` (PostgreSQL; its columns named as ``schema``'s) by COPY ... TO
    STDOUT as CSV (text quoted, NULL ``\\N``, timestamps in ISO with their offset), parsed by Arrow's CSV
    reader into tables of ``schema``'s types, a block of rows at a time. A thread reads the
    COPY while the caller works on the blocks already read, so that the server goes on
    producing rows meanwhile (at most a few blocks are held)."""
    with connection.cursor() as cursor:  # ISO output carries its offset: Arrow reads it
        cursor.execute("SHOW DateStyle")
        iso = str(cursor.fetchone()[0]).startswith("ISO")
    columns = []
    for item in schema:
        quoted = f'q."{item.name}"'
        if pa.types.is_timestamp(item.type) and not iso:
            quoted = (f"to_char({quoted} AT TIME ZONE 'UTC', "
                      f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS \"{item.name}\"")
        columns.append(quoted)
    texts = ", ".join(f'"{i.name}"' for i in schema if pa.types.is_string(i.type))
    force = f", FORCE_QUOTE ({texts})" if texts else ""
    sql = (f"COPY (SELECT {', '.join(columns)} FROM ({select}) q) TO STDOUT "  # noqa: S608
           f"WITH (FORMAT csv, NULL '\\N'{force})")
    read = pa_csv.ReadOptions(column_names=schema.names)
    convert = pa_csv.ConvertOptions(
        column_types={i.name: i.type for i in schema}, null_values=["\\N"],
        strings_can_be_null=True, quoted_strings_can_be_null=False)
    blocks: queue.Queue[Any] = queue.Queue(maxsize=3)
    stop = threading.Event()
    with connection.cursor() as cursor:
        reader = threading.Thread(target=_copy_reader, args=(cursor.cursor, sql, blocks, stop),
                                  name="dids-copy-reader", daemon=True)
        reader.start()
        try:
            while (block := blocks.get()) is not None:
                if isinstance(block, BaseException):
                    raise block
                yield pa_csv.read_csv(pa.py_buffer(block), read_options=read,
                                      convert_options=convert).cast(schema)
        finally:
            stop.set()
            reader.join()


def _batches_postgres(submission_id: int, schema: pa.Schema) -> Iterator[pa.Table]:
    names = ", ".join(f'"{i.name}"' for i in schema)
    month = Submission.objects.values_list("activity_month", flat=True).get(pk=submission_id)
    yield from copy_batches(f"SELECT {names} FROM {RECORD_TABLE} "  # noqa: S608 - the month
                            f"WHERE activity_month = '{month.isoformat()}' "  # prunes partitions
                            f"AND submission_id = {int(submission_id)} ORDER BY line", schema)


def _batches_sqlite(submission_id: int, schema: pa.Schema) -> Iterator[pa.Table]:
    rows = (Record.objects.filter(submission_id=submission_id).order_by("line")
            .values_list(*schema.names).iterator(chunk_size=BATCH))
    while chunk := list(_take(rows, BATCH)):
        yield pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in chunk],
                                   schema=schema)


def _take(rows: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        try:
            yield next(rows)
        except StopIteration:
            return


def write_archive(submission_id: int, out: IO[bytes]) -> int:
    """Write the version's records from the table to ``out`` as zstd Parquet; the rows written."""
    schema = archive_schema()
    batches = (_batches_postgres if connection.vendor == "postgresql" else _batches_sqlite)
    rows = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for table in batches(submission_id, schema):
            writer.write_table(table)
            rows += table.num_rows
    return rows


def archive_rows(handle: IO[bytes]) -> int:
    """Read the whole file (every page decompressed) and count its rows: a verification."""
    return int(pq.read_table(handle).num_rows)


# Reading --------------------------------------------------------------------------------------

def archived_table(submission: Submission, lines: Sequence[int] | None = None) -> pa.Table:
    """The archived records of a version (``lines``: only those), in line order."""
    with submission.file.storage.open(submission.records_archive, "rb") as handle:
        table = pq.read_table(handle)
    if lines is not None:
        table = table.filter(pc.is_in(table["line"], pa.array(list(lines), pa.int64())))
    return table


def archived_records(submission: Submission, lines: Sequence[int]) -> list[Record]:
    """These lines of an archived version as (unsaved) Record objects, as the ORM gives them."""
    table = archived_table(submission, lines)
    names = {str(f.column): f.attname for f in Record._meta.concrete_fields if f.column}
    return [Record(**{names[k]: v for k, v in row.items() if k in names})
            for row in table.to_pylist()]


def _load_postgres(cursor: Any, temp: str, table: pa.Table) -> None:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    data = io.BytesIO()
    frame.write_csv(data, null_value="\\N", quote_style="non_numeric")
    names = ", ".join(f'"{c}"' for c in table.column_names)
    data.seek(0)
    with cursor.cursor.copy(f"COPY {temp} ({names}) FROM STDIN "
                            "WITH (FORMAT csv, HEADER true, NULL '\\N')") as copy:
        while chunk := data.read(1 << 20):
            copy.write(chunk)


def _load_sqlite(cursor: Any, temp: str, table: pa.Table) -> None:
    # Values go in as the loader's batched inserts put them (submissions.loading), so that
    # they compare equal to the records of versions still in the table.
    names = table.column_names
    sql = (f"INSERT INTO {temp} ({', '.join(chr(34) + c + chr(34) for c in names)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(names))})")
    cursor.executemany(sql, [list(row.values()) for row in table.to_pylist()])


@contextlib.contextmanager
def records_source(submission_ids: Sequence[int]) -> Iterator[str]:
    """The table to read these versions' records from, in SQL (``FROM {source} r``): the
    records table, or with archived versions among them a UNION ALL of it and a temporary
    table holding theirs, loaded from their Parquet files. Runs in a transaction; the
    temporary table goes with it."""
    archived = list(Submission.objects.filter(pk__in=list(submission_ids))
                    .exclude(records_archive="").order_by("pk"))
    if not archived:
        yield RECORD_TABLE
        return
    temp = f"dids_archived_{uuid.uuid4().hex[:16]}"
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"CREATE TEMP TABLE {temp} (LIKE {RECORD_TABLE}) ON COMMIT DROP")
        else:  # the table's own definition, so that columns keep their declared types
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s",
                           [RECORD_TABLE])
            definition = cursor.fetchone()[0]
            cursor.execute("CREATE TEMP TABLE " + temp + definition[definition.index("("):])
        try:
            for submission in archived:
                table = archived_table(submission)
                (_load_postgres if postgres else _load_sqlite)(cursor, temp, table)
            if postgres:
                cursor.execute(f"ANALYZE {temp}")
            yield f"(SELECT * FROM {RECORD_TABLE} UNION ALL SELECT * FROM {temp})"  # noqa: S608
        finally:
            if not postgres:
                cursor.execute(f"DROP TABLE IF EXISTS {temp}")
