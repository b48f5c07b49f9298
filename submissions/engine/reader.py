"""Reading a submitted file's CSV: encoding, header detection, streaming batches.

The fast path streams the CSV with pyarrow (all columns as text) into polars DataFrames with a
`line` column; on a broken file, `diagnose` re-reads it with the csv module to name the line.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from .blanks import BLANK, NBSP_LEAD, edged, trimmed
from .layout import Layout, Layouts, convert_hint
from .source import FileProblem, FileRejected, Source

BLOCK_SIZE = 1 << 20  # pyarrow reads up to 32 blocks ahead: this bounds that buffer
BATCH_ROWS = 100_000  # rows per polars batch handed to the checks, at most
FIRST_BATCH_ROWS = 10_000  # the first batches are small, and so are the last ones (see _Batching)
HEAD_BYTES = 1 << 20
T = TypeVar("T")


# ---------------------------------------------------------------- header / layout

@dataclass
class Head:
    first: list[str] | None  # the first record: the header row, if the file has one
    lines: int  # the file lines that record spans
    skip_rows: int = 0  # CSV rows before it: Excel's `sep=,` line, empty or blank lines
    skip_lines: int = 0  # the file lines those rows span


@dataclass
class Plan:
    layout: Layout
    columns: list[str]  # the item column of each file column, in file order (see TRAILING)
    header: bool
    header_lines: int = 0
    ncols: int = 0  # the file's columns, empty trailing ones included
    skip_rows: int = 0  # CSV rows before the header row or the first record
    skip_lines: int = 0
    width: int = 0  # the columns that hold items; those after them are empty trailing columns

    @property
    def trailing(self) -> list[str]:
        return self.columns[self.width:]


TRAILING = "_trailing{}"  # the name of an empty trailing column, by file position


def read_head(source: Source) -> Head:
    """The first record of the file (after a `sep=,` line and blank lines) and where it is."""
    with source.open() as fh:
        head = fh.read(HEAD_BYTES)
    if not head.strip(b"\r\n\t \xef\xbb\xbf"):
        raise FileRejected(FileProblem("file_no_records", "the file is empty"))
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise FileRejected(FileProblem("file_encoding", f"byte 0x{head[exc.start]:02x} at line {line}", line)) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    skip_rows = skip_lines = 0
    try:
        for row in reader:
            if skip_rows == 0 and _separator_hint(row):
                pass
            elif any(cell.strip() for cell in row):
                return Head(row, reader.line_num - skip_lines, skip_rows, skip_lines)
            skip_rows, skip_lines = skip_rows + 1, reader.line_num
    except csv.Error as exc:
        line = skip_lines + 1
        raise FileRejected(FileProblem("file_csv", f"the record at line {line} cannot be read ({exc})", line)) from exc
    return Head(None, 0, skip_rows, skip_lines)


def _separator_hint(row: list[str]) -> bool:
    """True for Excel's `sep=,` first line; FileRejected for a hint naming another separator."""
    if len(row) == 2 and row[0].strip().lower() == "sep=" and not row[1].strip():
        return True
    if len(row) == 1 and row[0].strip().lower().startswith("sep=") and len(row[0].strip()) <= 6:
        sep = row[0].strip()[4:] or row[0][4:]
        raise FileRejected(FileProblem(
            "file_csv", f"line 1 is {row[0].strip()!r}, which says the values are separated by {sep!r}; "
                    "DIDS files are separated by commas (save as 'CSV UTF-8 (comma delimited)')", 1))
    return False


def plan_columns(head: Head, layouts: Layouts, expected: str | None, why: str | None = None) -> Plan:
    """How to read the file's columns. ``why`` says why ``expected`` is the version the file
    must have ("March 2026 is a DIDS v1.0 month"), for the finding when it has the other one."""
    first = head.first
    if not first:
        raise FileRejected(FileProblem("file_no_records", "the file has no records"))
    cells = [c.strip().lower() for c in first]
    names: dict[str, str] = {}
    for it in layouts.items:
        names[it.column.lower()] = it.column
        names[it.nhs_dd.lower()] = it.column
        if it.nhs_dd_v2:
            names[it.nhs_dd_v2.lower()] = it.column
    matched = [names.get(c) for c in cells]
    where = {"skip_rows": head.skip_rows, "skip_lines": head.skip_lines, "ncols": len(first)}
    line = head.skip_lines + 1
    if any(matched):
        width = len(cells)
        while width and not cells[width - 1]:
            width -= 1
        return _plan_header(first[:width], matched[:width], head, layouts, expected, why, where)
    layout = _headerless_layout(first, layouts, expected)
    if layout is None:
        other = layouts.by_column_count(len(first))
        if expected and why and other is not None:
            raise FileRejected(FileProblem(
                "file_layout", f"{why}: send the v{expected} layout (line {line} has the "
                           f"{len(first)} columns of v{other.version})"
                           + convert_hint(other.version, expected),
                line, f"the {len(layouts[expected].items)} columns of v{expected}"))
        counts = " or ".join(f"{len(lay.items)} (v{v})" for v, lay in layouts.versions.items())
        want = f"{len(layouts[expected].items)} columns for v{expected}" if expected else f"{counts} columns"
        raise FileRejected(FileProblem(
            "file_layout", f"line {line} has {len(first)} columns and no header row; expected {want}", line, want))
    width = len(layout.items)
    columns = [*layout.columns, *(TRAILING.format(i) for i in range(width, len(first)))]
    return Plan(layout, columns, header=False, header_lines=0, width=width, **where)


def _headerless_layout(first: list[str], layouts: Layouts, expected: str | None) -> Layout | None:
    """The layout of a file without a header row, by its column count; columns after the
    layout's that are empty in the first record are taken as empty trailing columns."""
    candidates = [layouts[expected]] if expected else list(layouts.versions.values())
    for layout in candidates:
        if len(first) == len(layout.items):
            return layout
    for layout in candidates:
        n = len(layout.items)
        if len(first) > n and not any(c.strip() for c in first[n:]):
            return layout
    return None


def _header_problems(matched: list[str | None], first: list[str], layout: Layout) -> list[str]:
    """What is wrong with a header row, in words: a column is named as the header must name
    it ('nhs_number'), with the item's display name after it."""
    present = {m for m in matched if m}
    problems = []
    unknown = [first[i].strip() for i, m in enumerate(matched) if m is None or not layout.has(m)]
    if unknown:
        problems.append(_columns(unknown) + (" is not a column" if len(unknown) == 1 else " are not columns")
                        + f" of the v{layout.version} layout")
    dupes = sorted({m for m in matched if m and matched.count(m) > 1})
    if dupes:
        problems.append(_columns(dupes, layout) + (" is" if len(dupes) == 1 else " are") + " named more than once")
    missing = [c for c in layout.columns if c not in present]
    if missing:
        problems.append(_columns(missing, layout) + (" is" if len(missing) == 1 else " are") + " missing")
    return problems


def _columns(cells: list[str], layout: Layout | None = None) -> str:
    """'the column 'a' (A name)' or 'the columns 'a' (A name) and 'b' (B name)'."""
    named = [f"'{c}' ({layout.item(c).name})" if layout else repr(c) for c in cells]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return ("the column " if len(named) == 1 else "the columns ") + listed


def _plan_header(first: list[str], matched: list[str | None], head: Head, layouts: Layouts,
                 expected: str | None, why: str | None, where: dict[str, int]) -> Plan:
    present = {m for m in matched if m}
    scores = {v: len(present & set(lay.columns)) - len(present - set(lay.columns)) for v, lay in layouts.versions.items()}
    best = max(scores, key=lambda v: scores[v])
    layout = layouts[expected] if expected else layouts[best]
    line = head.skip_lines + 1
    want = f"the {len(layout.items)} columns of v{layout.version}, each once"
    problems = _header_problems(matched, first, layout)
    if problems and expected and why and best != expected:
        raise FileRejected(FileProblem(
            "file_layout", f"{why}: send the v{expected} layout (the header row at line {line} names "
                       f"the v{best} columns)" + convert_hint(best, expected), line, want))
    if problems:
        at = f" (line {line})" if line != 1 else ""
        raise FileRejected(FileProblem(
            "file_layout", f"the header row{at} does not match the v{layout.version} layout: "
                       + "; ".join(problems), line, want))
    width = len(first)
    columns = [*(m or "" for m in matched), *(TRAILING.format(i) for i in range(width, where["ncols"]))]
    return Plan(layout, columns, header=True, header_lines=head.lines, width=width, **where)


# ---------------------------------------------------------------- streaming

@dataclass
class StreamState:
    records: int = 0  # physical CSV rows yielded so far (after the header)
    extra_newlines: int = 0  # line breaks inside quoted values so far
    invalid_rows: list[int] = field(default_factory=list)  # CSV row numbers (the file's first = 1)
    blank_rows: list[int] = field(default_factory=list)  # rows of only spaces, skipped like empty lines
    unplaced_blank_rows: int = 0  # blank rows whose number the reader did not know (threads)

    def skipped(self) -> list[int]:
        """The CSV row numbers the reader left out, in order."""
        return sorted(n for n in (*self.invalid_rows, *self.blank_rows) if n > 0)


def stream_batches(source: Source, plan: Plan, state: StreamState, *, use_threads: bool = False,
                   ramp: bool = True, max_field: int) -> Iterator[pl.DataFrame]:
    """Yield polars frames of the file's records, item-named text columns plus `line`.

    Empty lines and lines of only spaces are dropped (they still count as lines), as are
    empty trailing columns. Raises FileRejected for NUL bytes, fields over ``max_field`` or a value in
    an empty trailing column; pyarrow errors propagate for the caller to diagnose. ``ramp``:
    small first and last batches (see _Batching), which help only when the batches are also
    stored.
    """
    def on_invalid(row: pacsv.InvalidRow) -> str:
        if not row.text.strip(BLANK + "\r\n,\""):  # a row of empty cells, short or long
            if row.number is None:
                state.unplaced_blank_rows += 1
            else:
                state.blank_rows.append(row.number)
        else:
            state.invalid_rows.append(-1 if row.number is None else row.number)
        return "skip"

    names = [f"c{i}" for i in range(plan.ncols)]
    reader = pacsv.open_csv(
        source.arrow_input(),
        read_options=pacsv.ReadOptions(
            use_threads=use_threads, block_size=BLOCK_SIZE, column_names=names,
            skip_rows=plan.skip_rows + (1 if plan.header else 0),
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True, quoted_strings_can_be_null=True,
        ),
    )
    header_rows = plan.skip_rows + (1 if plan.header else 0)  # the CSV rows before the records
    # the file lines those rows span beyond one each
    base_line_extra = plan.skip_lines - plan.skip_rows + max(plan.header_lines - 1, 0)
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
                raise FileRejected(FileProblem("file_csv", "the file contains a NUL byte"))
            if b"\n" in raw:
                flags["newline"] = True
            if (b" " in raw or b"\t" in raw or NBSP_LEAD in raw) and edged(col, raw):
                flags["trim"].add(name)
        pending.append(batch)
        rows += batch.num_rows
        if rows >= batching.target:
            yield _frame(pending, flags, names, plan, state, header_rows, base_line_extra, max_field)
            batching.handed_over()
            pending, flags, rows = [], {"newline": False, "trim": set()}, 0
    if pending:
        yield _frame(pending, flags, names, plan, state, header_rows, base_line_extra, max_field)


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


def prefetch(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run an iterator ahead in a thread, so that its work (pyarrow's parse, polars' prepare)
    overlaps the consumer's on two cores: both release the GIL. Exceptions re-raise in the consumer."""
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
           header_rows: int, base_line_extra: int, max_field: int) -> pl.DataFrame:
    # polars' text is string views: pyarrow's cast to them costs less than polars' own
    # conversion, and the batches joined into one chunk before it less than polars' rechunk after
    table = pa.Table.from_batches(batches).combine_chunks()
    df = pl.from_arrow(table.cast(pa.schema([(n, pa.string_view()) for n in names])))
    assert isinstance(df, pl.DataFrame) and df.n_chunks() <= 1
    n = df.height
    if flags["trim"]:
        df = df.with_columns(trimmed(c) for c in sorted(flags["trim"]))
    if _any_long(df, max_field):
        too_long = df.select(pl.all().str.len_chars().max()).row(0)
        if max(v or 0 for v in too_long) > max_field:
            raise FileRejected(FileProblem("file_csv", f"a field is over {max_field:,} characters"))
    row = pl.int_range(0, n, eager=True, dtype=pl.Int64) + (state.records + header_rows + 1)
    skipped = state.skipped()
    if skipped:
        # the k-th skipped row moves every later record on by one: a record that would be
        # row r is row r + (how many skipped rows s_k have s_k - k <= r)
        shifted = pl.Series(skipped, dtype=pl.Int64) - pl.int_range(0, len(skipped), eager=True, dtype=pl.Int64)
        row = row + shifted.search_sorted(row, side="right").cast(pl.Int64)
    line = row + (base_line_extra + state.extra_newlines)
    if flags["newline"]:
        per_row = pl.sum_horizontal(pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in names)
        extra = df.select(per_row.cast(pl.Int64).alias("x"))["x"]
        line = line + (extra.cum_sum() - extra)
        state.extra_newlines += int(extra.sum())
    state.records += n
    df = df.rename(dict(zip(names, plan.columns, strict=True))).with_columns(line.alias("line"))
    if plan.trailing:
        if df.select(pl.any_horizontal(pl.col(c).is_not_null().any() for c in plan.trailing)).item():
            raise FileRejected(FileProblem("file_layout", "a value in an empty trailing column"))
        df = df.drop(plan.trailing)
    items = plan.columns[: plan.width]
    blank = df.select(pl.all_horizontal(pl.col(c).is_null() for c in items)).to_series()
    return df.filter(~blank) if blank.any() else df


def _any_long(df: pl.DataFrame, max_field: int) -> bool:
    longest = df.select(pl.all().str.len_bytes().max()).row(0)
    return max((v or 0) for v in longest) > max_field
