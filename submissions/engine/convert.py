"""Rewrite a DIDS v1.0 file in the v2.0 layout, and say how each v2.0 item was filled.

The mapping is read from the layouts data (data/layouts.toml), not written out here: a v2.0
item that v1.0 also has is copied; one that a v1.0 item is read as (the layout's ``reads``,
test_date -> procedure_start, report_date -> report_issued) is converted from it, a date
becoming a timestamp at local midnight; any other is left empty, having no v1.0 source.

The file is streamed with the engine's reader, a batch at a time, so memory stays bounded
whatever its size. The output has a header row of column names, in v2.0 TOS order.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import polars as pl

from .checks.prepare import parse_date
from .diagnosis import diagnose
from .layout import Item, Layouts, load_layouts
from .reader import StreamState, plan_columns, read_head, stream_batches
from .rules import load_rules
from .source import FileProblem, FileRejected, Source

FROM_VERSION, TO_VERSION = "1.0", "2.0"
ZONE = "Europe/London"
SUMMER, WINTER = "+01:00", "+00:00"
ASSUMPTION = (
    f"A v1.0 date has no time of day: it becomes the timestamp of local midnight ({ZONE}) at the "
    f"start of that day, with that day's UTC offset: {SUMMER} in British Summer Time, {WINTER} "
    f"in Greenwich Mean Time (2026-06-15 becomes 2026-06-15T00:00:00{SUMMER}, 2026-12-01 "
    f"becomes 2026-12-01T00:00:00{WINTER}). A value that is not a valid CCYY-MM-DD date is "
    "copied as written, for the check to report."
)

Mapping = Literal["copied", "converted", "empty"]


@dataclass
class ItemReport:
    """How one v2.0 item was filled, and in how many records."""

    position: int
    item: str
    nhs_dd: str
    mapping: Mapping
    source: str | None  # the v1.0 item it was copied or converted from
    source_position: int | None
    records: int = 0  # records affected: given a value (copied, converted), or left empty
    empty: int = 0  # records whose v1.0 source value was empty (so is this item)
    summer: int = 0  # converted dates at +01:00
    winter: int = 0  # converted dates at +00:00
    not_converted: int = 0  # v1.0 values that are not a valid date, copied as written

    @property
    def description(self) -> str:
        if self.mapping == "empty":
            return "left empty: no v1.0 source"
        where = f"{self.source} (v{FROM_VERSION} item {self.source_position})"
        if self.mapping == "copied":
            return f"copied from {where}"
        return f"converted from {where}, a date, assuming local midnight {ZONE}"

    def counts(self) -> str:
        """The records affected, in words."""
        if self.mapping == "empty":
            return records(self.records)
        if self.mapping == "copied":
            return records(self.records) + (f" ({self.empty:,} empty)" if self.empty else "")
        parts = [f"{self.summer:,} at {SUMMER}", f"{self.winter:,} at {WINTER}"]
        if self.not_converted:
            parts.append(f"{self.not_converted:,} not a valid date, copied as written")
        if self.empty:
            parts.append(f"{self.empty:,} empty")
        return f"{records(self.records)} ({'; '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["description"] = self.description
        if self.mapping != "converted":
            for key in ("summer", "winter", "not_converted"):
                del data[key]
        return data


@dataclass
class ConversionReport:
    source: str
    output: str
    records: int = 0
    items: list[ItemReport] = field(default_factory=list)
    from_version: str = FROM_VERSION
    to_version: str = TO_VERSION
    assumption: str = ASSUMPTION

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "records": self.records,
            "assumption": self.assumption,
            "items": [i.to_dict() for i in self.items],
        }

    def text(self) -> str:
        lines = [
            f"Converted {self.source} (DIDS v{self.from_version}, {records(self.records)}) to "
            f"{self.output} (DIDS v{self.to_version}).",
            f"Assumption: {self.assumption}",
            f"How each v{self.to_version} item was mapped, and the records affected:",
        ]
        width = max(len(i.item) for i in self.items)
        lines += [
            f"  {i.position:>2} {i.item:<{width}}  {i.description}: {i.counts()}"
            for i in self.items
        ]
        return "\n".join(lines)


def records(n: int) -> str:
    return f"{n:,} record{'' if n == 1 else 's'}"


class NotVersionOne(Exception):
    """The file has a v2.0 layout already: there is nothing to convert."""


def item_mappings(layouts: Layouts | None = None) -> list[ItemReport]:
    """For each v2.0 item, how the layouts data says it is filled from a v1.0 file."""
    layouts = layouts or load_layouts()
    old, new = layouts[FROM_VERSION], layouts[TO_VERSION]
    read_from = {target: source for source, target in new.reads.items()}
    out = []
    for it in new.items:
        source = it.column if old.has(it.column) else read_from.get(it.column)
        mapping: Mapping = "empty"
        if source is not None:
            kinds = (old.item(source).kind, it.kind)
            mapping = "converted" if kinds == ("date", "timestamp") else "copied"
        out.append(
            ItemReport(
                position=it.positions[TO_VERSION],
                item=it.column,
                nhs_dd=it.nhs_dd_name(TO_VERSION),
                mapping=mapping,
                source=source,
                source_position=old.item(source).positions[FROM_VERSION] if source else None,
            )
        )
    return out


def convert(
    source: str | os.PathLike[str] | IO[bytes],
    output: str | os.PathLike[str],
    *,
    source_name: str | None = None,
) -> ConversionReport:
    """Write ``source`` (a v1.0 CSV, or a zip holding one) to ``output`` in the v2.0 layout.

    Raises FileRejected when the file cannot be read as v1.0 (nothing is written) and
    NotVersionOne when it has the v2.0 layout already. ``output`` appears only when complete.
    """
    layouts = load_layouts()
    p004 = load_rules().by_kind("file_zip").params
    src = Source(source, max_ratio=p004["max_ratio"], max_bytes=p004["max_bytes"])
    report = ConversionReport(
        source=source_name or str(source), output=str(output), items=item_mappings(layouts)
    )
    target = Path(output)
    # beside the output, so that it can be renamed into place; made as open() makes any file
    # (the umask applies), not private as tempfile's are
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as out:
            _convert(src, out, report, layouts)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return report


def _convert(src: Source, out: IO[bytes], report: ConversionReport, layouts: Layouts) -> None:
    plan = plan_columns(read_head(src), layouts, None)
    if plan.layout.version != FROM_VERSION:
        raise NotVersionOne(f"the file has the DIDS v{plan.layout.version} layout already")
    new = layouts[TO_VERSION]
    state = StreamState()
    max_field = int(load_rules().by_kind("file_csv").params["max_field"])
    first = True
    try:
        for batch in stream_batches(src, plan, state, ramp=False, max_field=max_field):
            if state.invalid_rows:
                break
            frame = batch.select(_expressions(report.items, new.items))
            _count(batch, report)
            frame.write_csv(out, include_header=first)
            first = False
    except FileRejected:
        raise FileRejected(diagnose(src, plan, max_field)) from None
    if state.invalid_rows:
        raise FileRejected(diagnose(src, plan, max_field))
    if report.records == 0:
        raise FileRejected(FileProblem("file_no_records", "there are no records after the header"))


def _expressions(items: list[ItemReport], layout_items: tuple[Item, ...]) -> list[pl.Expr]:
    exprs = []
    for mapped, it in zip(items, layout_items, strict=True):
        if mapped.mapping == "empty":
            exprs.append(pl.lit(None, dtype=pl.String).alias(it.column))
        elif mapped.mapping == "copied":
            exprs.append(pl.col(mapped.source).alias(it.column))  # type: ignore[arg-type]
        else:
            exprs.append(midnight(mapped.source, _written(mapped.source)).alias(it.column))  # type: ignore[arg-type]
    return exprs


def _v1_date(column: str) -> pl.Expr:
    """A v1.0 date item's value, parsed as the item is written (layouts.toml)."""
    return parse_date(column, _written(column))


def _written(column: str) -> str:
    written = load_layouts()[FROM_VERSION].item(column).written
    assert written, f"{column} is not a date"
    return written


def midnight(column: str, written: str) -> pl.Expr:
    """A v1.0 date (written as ``written``) as the v2.0 timestamp of local midnight with that
    day's UTC offset; a value that is not a valid date unchanged."""
    day = parse_date(column, written)
    local = day.cast(pl.Datetime("us")).dt.replace_time_zone(ZONE)
    offset = (
        pl.when(local.dt.dst_offset() > pl.duration(hours=0))
        .then(pl.lit(SUMMER))
        .otherwise(pl.lit(WINTER))
    )
    stamp = pl.concat_str([day.dt.strftime("%Y-%m-%dT00:00:00"), offset])
    return pl.when(day.is_not_null()).then(stamp).otherwise(pl.col(column))


def _count(batch: pl.DataFrame, report: ConversionReport) -> None:
    n = batch.height
    report.records += n
    sums: list[pl.Expr] = []
    for i, mapped in enumerate(report.items):
        if mapped.mapping == "empty":
            continue
        col = pl.col(mapped.source)  # type: ignore[arg-type]
        sums.append(col.is_null().sum().alias(f"e{i}"))
        if mapped.mapping == "converted":
            day = _v1_date(mapped.source)  # type: ignore[arg-type]
            summer = day.cast(pl.Datetime("us")).dt.replace_time_zone(
                ZONE
            ).dt.dst_offset() > pl.duration(hours=0)
            sums += [
                (day.is_not_null() & summer).sum().alias(f"s{i}"),
                (day.is_not_null() & ~summer).sum().alias(f"w{i}"),
            ]
    counts = batch.select(sums).row(0, named=True) if sums else {}
    for i, mapped in enumerate(report.items):
        if mapped.mapping == "empty":
            mapped.records += n
            continue
        empty = int(counts[f"e{i}"])
        mapped.empty += empty
        if mapped.mapping == "copied":
            mapped.records += n - empty
        else:
            bst, gmt = int(counts[f"s{i}"]), int(counts[f"w{i}"])
            mapped.summer += bst
            mapped.winter += gmt
            mapped.records += bst + gmt
            mapped.not_converted += n - empty - bst - gmt
