"""Opening a submitted file: zip or CSV, encoding, header detection, streaming batches.

The fast path streams the CSV with pyarrow (every column as text) and hands out polars
DataFrames with a `line` column. When the fast path meets a broken file, `diagnose` re-reads
it slowly with the csv module to say exactly which line is at fault.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import queue
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, TypedDict

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from .layout import Layout, Layouts

BLOCK_SIZE = 1 << 20  # pyarrow reads up to 32 blocks ahead: this bounds that buffer
BATCH_ROWS = 100_000  # rows per polars batch handed to the checks, at most
FIRST_BATCH_ROWS = 10_000  # the first batches are small, and so are the last ones (see _Batching)
HEAD_BYTES = 1 << 20
MAX_FIELD = 10_000
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class FileProblem:
    rule: str
    detail: str
    line: int | None = None
    expected: str | None = None


class FileRejected(Exception):
    def __init__(self, problem: FileProblem):
        super().__init__(problem.detail)
        self.problem = problem


class Source:
    """The CSV bytes of a submitted path or file object, re-openable from the start."""

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], *, max_ratio: float, max_bytes: int):
        self._tmp: str | None = None
        self._zip: zipfile.ZipFile | None = None
        self._member: zipfile.ZipInfo | None = None
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.exists():
                raise FileNotFoundError(path)
            self._path: str | None = str(path)
            self._obj: IO[bytes] | None = None
        else:
            self._path = None
            self._obj = source
            if not (hasattr(source, "seekable") and source.seekable()):
                fd, self._tmp = tempfile.mkstemp(prefix="dids-", suffix=".upload")
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                self._path, self._obj = self._tmp, None
            else:
                self._start = source.tell()
        # Measured now, never while pyarrow reads (it may read ahead from another thread).
        if self._path is not None:
            self._size = os.path.getsize(self._path)
        else:
            assert self._obj is not None
            self._size = self._obj.seek(0, io.SEEK_END) - self._start
            self._obj.seek(self._start)
        with self._open_raw() as raw:
            magic = raw.read(4)
        if magic in ZIP_MAGIC:
            self._open_zip(max_ratio, max_bytes)

    def _open_raw(self) -> BinaryIO:
        if self._path is not None:
            return open(self._path, "rb")
        assert self._obj is not None
        self._obj.seek(self._start)
        return _NoClose(self._obj)  # type: ignore[return-value]

    def _open_zip(self, max_ratio: float, max_bytes: int) -> None:
        try:
            zf = zipfile.ZipFile(self._path if self._path else self._obj)  # type: ignore[arg-type]
            members = [i for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise FileRejected(FileProblem("P004", f"not a readable zip file ({exc})")) from exc
        self._zip = zf
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:5]) or "none"
            raise FileRejected(FileProblem("P004", f"it holds {len(members)} files ({names}), not exactly one CSV"))
        m = members[0]
        if m.file_size > max_bytes:
            raise FileRejected(FileProblem("P004", f"{m.filename} declares {m.file_size:,} bytes, over the {max_bytes:,}-byte limit"))
        ratio = m.file_size / max(m.compress_size, 1)
        if ratio > max_ratio:
            raise FileRejected(FileProblem("P004", f"{m.filename} has a compression ratio of {ratio:,.0f}:1, over {max_ratio:g}:1"))
        if m.flag_bits & 0x1:
            raise FileRejected(FileProblem("P004", f"{m.filename} is encrypted"))
        self._member = m

    @property
    def is_zip(self) -> bool:
        return self._member is not None

    @property
    def size(self) -> int:
        """The CSV's size in bytes (a zip member's declared size)."""
        if self._member is not None:
            return self._member.file_size
        return self._size

    def open(self) -> BinaryIO:
        """A fresh binary stream of the CSV bytes from the start."""
        if self._zip is not None and self._member is not None:
            return _ZipGuard(self._zip.open(self._member), self._member.file_size)  # type: ignore[return-value]
        return self._open_raw()

    def arrow_input(self) -> pa.NativeFile | BinaryIO:
        if self._path is not None and self._zip is None:
            return pa.OSFile(self._path, "rb")  # read, not memory-mapped: RSS stays flat
        return self.open()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tmp:
            os.unlink(self._tmp)


class _NoClose(io.RawIOBase):
    def __init__(self, inner: IO[bytes]):
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b):  # type: ignore[no-untyped-def]
        data = self._inner.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)


class _ZipGuard(_NoClose):
    """Stop a zip member that inflates past its declared size (a lying header)."""

    def __init__(self, inner: IO[bytes], limit: int):
        super().__init__(inner)
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise zipfile.BadZipFile("member inflates past its declared size")
        return data


# ---------------------------------------------------------------- header / layout

@dataclass
class Plan:
    layout: Layout
    columns: list[str]  # the item column of each file column, in file order
    header: bool
    header_lines: int = 0
    ncols: int = 0


def read_head(source: Source) -> tuple[str, list[str] | None, int]:
    """The decoded start of the file, its first record and how many lines that record spans."""
    with source.open() as fh:
        head = fh.read(HEAD_BYTES)
    if not head.strip(b"\r\n\t \xef\xbb\xbf"):
        raise FileRejected(FileProblem("P002", "the file is empty"))
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise FileRejected(FileProblem("P001", f"byte 0x{head[exc.start]:02x} at line {line}", line)) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise FileRejected(FileProblem("P003", f"the first record cannot be read ({exc})", 1)) from exc
    return text, first, reader.line_num


def plan_columns(first: list[str] | None, lines: int, layouts: Layouts, expected: str | None) -> Plan:
    if not first:
        raise FileRejected(FileProblem("P002", "the file has no records"))
    cells = [c.strip().lower() for c in first]
    names: dict[str, str] = {}
    for it in layouts.items:
        names[it.column.lower()] = it.column
        names[it.nhs_dd.lower()] = it.column
        if it.nhs_dd_v2:
            names[it.nhs_dd_v2.lower()] = it.column
    matched = [names.get(c) for c in cells]
    if any(matched):
        return _plan_header(first, matched, lines, layouts, expected)
    layout = layouts[expected] if expected else layouts.by_column_count(len(first))
    if layout is None or len(first) != len(layout.items):
        counts = " or ".join(f"{len(lay.items)} (v{v})" for v, lay in layouts.versions.items())
        want = f"{len(layout.items)} columns for v{layout.version}" if layout else f"{counts} columns"
        raise FileRejected(FileProblem(
            "DIDS075", f"line 1 has {len(first)} columns and no header row; expected {want}", 1, want))
    return Plan(layout, list(layout.columns), header=False, header_lines=0, ncols=len(first))


def _plan_header(first: list[str], matched: list[str | None], lines: int, layouts: Layouts, expected: str | None) -> Plan:
    present = {m for m in matched if m}
    if expected:
        layout = layouts[expected]
    else:
        scores = {v: len(present & set(lay.columns)) - len(present - set(lay.columns)) for v, lay in layouts.versions.items()}
        layout = layouts[max(scores, key=lambda v: scores[v])]
    problems = []
    unknown = [first[i].strip() for i, m in enumerate(matched) if m is None or not layout.has(m)]
    if unknown:
        problems.append("unknown column(s) " + ", ".join(repr(u) for u in unknown))
    dupes = sorted({m for m in matched if m and matched.count(m) > 1})
    if dupes:
        problems.append("duplicate column(s) " + ", ".join(dupes))
    missing = [c for c in layout.columns if c not in present]
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if problems:
        raise FileRejected(FileProblem(
            "DIDS075", f"header row for v{layout.version}: " + "; ".join(problems), 1,
            f"the {len(layout.items)} columns of v{layout.version}, each once"))
    return Plan(layout, [m or "" for m in matched], header=True, header_lines=lines, ncols=len(first))


# ---------------------------------------------------------------- streaming

@dataclass
class StreamState:
    records: int = 0  # physical CSV rows yielded so far (after the header)
    extra_newlines: int = 0  # line breaks inside quoted values so far
    invalid_rows: list[int] = field(default_factory=list)  # physical row numbers (header = 1)


def stream_batches(source: Source, plan: Plan, state: StreamState, *, use_threads: bool = False,
                   ramp: bool = True) -> Iterator[pl.DataFrame]:
    """Yield polars frames of the file's records, item-named text columns plus `line`.

    Blank lines are dropped (they still count as lines). Raises FileRejected for NUL bytes or
    over-long fields; pyarrow errors propagate for the caller to diagnose. ``ramp``: small
    first and last batches (see _Batching), which help only when the batches are also stored.
    """
    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is not None:
            state.invalid_rows.append(row.number)
        else:
            state.invalid_rows.append(-1)
        return "skip"

    names = [f"c{i}" for i in range(plan.ncols)]
    reader = pacsv.open_csv(
        source.arrow_input(),
        read_options=pacsv.ReadOptions(
            use_threads=use_threads, block_size=BLOCK_SIZE, column_names=names,
            skip_rows=1 if plan.header else 0,
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True, quoted_strings_can_be_null=True,
        ),
    )
    header_rows = 1 if plan.header else 0
    base_line_extra = max(plan.header_lines - 1, 0)
    pending: list[pa.RecordBatch] = []
    flags: _Flags = {"newline": False, "trim": set()}
    rows = 0
    batching = _Batching(source.size, ramp=ramp)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        batching.read(batch)
        for name, col in zip(names, batch.columns, strict=True):
            buf = col.buffers()[2]
            if buf is None:
                continue
            raw = buf.to_pybytes()
            if b"\x00" in raw:
                raise FileRejected(FileProblem("P003", "the file contains a NUL byte"))
            if b"\n" in raw:
                flags["newline"] = True
            if b" " in raw or b"\t" in raw:
                flags["trim"].add(name)
        pending.append(batch)
        rows += batch.num_rows
        if rows >= batching.target:
            yield _frame(pending, flags, names, plan, state, header_rows, base_line_extra)
            batching.handed_over()
            pending, flags, rows = [], {"newline": False, "trim": set()}, 0
    if pending:
        yield _frame(pending, flags, names, plan, state, header_rows, base_line_extra)


class _Batching:
    """How many rows the next batch holds: small at first, so that checking, encoding and the
    database's storing start together sooner; then up to BATCH_ROWS; and smaller again
    towards the end of the file (its size is known), so that little is left to store after
    the last check. Batch sizes change only how the work is cut, never its result."""

    def __init__(self, size: int, *, ramp: bool = True) -> None:
        self.size = size
        self.smallest = min(FIRST_BATCH_ROWS, BATCH_ROWS) if ramp else BATCH_ROWS
        self.target = self.smallest
        self.bytes_read = 0  # roughly: values and their separators
        self.rows_read = 0

    def read(self, batch: pa.RecordBatch) -> None:
        self.rows_read += batch.num_rows
        data = (col.buffers()[2] for col in batch.columns)
        self.bytes_read += batch.num_rows * batch.num_columns + sum(
            buf.size for buf in data if buf is not None)

    def handed_over(self) -> None:
        target = min(BATCH_ROWS, self.target * 2)
        if self.rows_read:
            left = max(self.size - self.bytes_read, 0) * self.rows_read / self.bytes_read
            target = min(target, max(self.smallest, int(left / 2)))
        self.target = target


def prefetch(batches: Iterator[pl.DataFrame], depth: int = 2) -> Iterator[pl.DataFrame]:
    """Read ahead in a thread, so parsing (pyarrow) overlaps checking (polars) on two cores.

    Both release the GIL while they work. Exceptions are re-raised in the consumer.
    """
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                q.put(("batch", batch))
            q.put(("done", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(("error", exc))

    worker = threading.Thread(target=produce, name="dids-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise item  # type: ignore[misc]
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.01)


class _Flags(TypedDict):
    newline: bool  # some value holds a line break
    trim: set[str]  # the columns with a value holding a space or tab


def _frame(batches: list[pa.RecordBatch], flags: _Flags, names: list[str], plan: Plan, state: StreamState,
           header_rows: int, base_line_extra: int) -> pl.DataFrame:
    df = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(df, pl.DataFrame)
    df = df.rechunk()
    n = df.height
    if flags["trim"]:
        df = df.with_columns(trimmed(c) for c in sorted(flags["trim"]))
    if _any_long(df):
        too_long = df.select(pl.all().str.len_chars().max()).row(0)
        if max(v or 0 for v in too_long) > MAX_FIELD:
            raise FileRejected(FileProblem("P003", f"a field is over {MAX_FIELD:,} characters"))
    row = pl.int_range(0, n, eager=True, dtype=pl.Int64) + (state.records + header_rows + 1)
    for s in sorted(state.invalid_rows):
        if s > 0:
            row = row + (row >= s).cast(pl.Int64)
    line = row + (base_line_extra + state.extra_newlines)
    if flags["newline"]:
        per_row = pl.sum_horizontal(pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in names)
        extra = df.select(per_row.cast(pl.Int64).alias("x"))["x"]
        line = line + (extra.cum_sum() - extra)
        state.extra_newlines += int(extra.sum())
    state.records += n
    df = df.rename(dict(zip(names, plan.columns, strict=True))).with_columns(line.alias("line"))
    blank = df.select(pl.all_horizontal(pl.col(c).is_null() for c in plan.columns)).to_series()
    return df.filter(~blank) if blank.any() else df


def trimmed(column: str) -> pl.Expr:
    """Surrounding spaces and tabs removed; an empty value is null."""
    s = pl.col(column).str.strip_chars(" \t")
    return pl.when(s.str.len_bytes() == 0).then(None).otherwise(s).alias(column)


def _any_long(df: pl.DataFrame) -> bool:
    longest = df.select(pl.all().str.len_bytes().max()).row(0)
    return max((v or 0) for v in longest) > MAX_FIELD
