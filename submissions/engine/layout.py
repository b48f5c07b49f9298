"""The DIDS record layouts, read from data/layouts.toml.

One declarative description of each data item drives parsing, validation, messages, the
rules documentation and the storage columns.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
VERSIONS = ("1.0", "2.0")
# The converter (convert.py), which the finding for a v1.0 file sent for a v2.0 month names.
CONVERT_COMMAND = "dids-check convert FILE --output FILE-v2.csv"


# The shape attributes an item of each kind must carry (its kind's parsing reads them).
SHAPES = {"nhs_number": ("digits",), "snomed": ("digits", "partitions"), "postcode": ("pattern", "inward"), "date": ("written",),
          "timestamp": ("written", "offsets")}


@dataclass(frozen=True)
class Item:
    column: str
    name: str  # sentence case, as the NHS DD writes it in running text: "NHS number"
    nhs_dd: str
    group: str
    mr: str | dict[str, str]  # M, R or a group such as M*; or one of those by version
    format: str  # the NHS DD's format, shown; length, pattern, kind, code_list enforce it
    kind: str
    storage: str
    positions: dict[str, int]
    code_list: str | None = None
    nhs_dd_v2: str | None = None
    length: dict[str, int] | None = None  # {"min": .., "max": ..}: read by kind "length"
    pattern: str | None = None  # the normalised value's regular expression
    record: str | None = None  # the record table's column that holds it, when not its own
    digits: dict[str, int] | None = None  # {"min": .., "max": ..} digits of an identifier
    ignore: dict[str, str] | None = None  # characters removed before checking, by their name
    partitions: tuple[str, ...] = ()  # a SNOMED CT id's partition identifiers (2nd, 3rd last)
    written: str | None = None  # how a date or timestamp is written, as a strptime format
    offsets: dict[str, int] | None = None  # a timestamp's permitted UTC offsets, in minutes
    inward: int | None = None  # a postcode's inward code's characters (a space goes before them)

    def mandatory(self, version: str) -> str:
        """M, R or the item's M-group (M*) in this version."""
        return self.mr if isinstance(self.mr, str) else self.mr[version]

    def nhs_dd_name(self, version: str) -> str:
        if version == "2.0" and self.nhs_dd_v2:
            return self.nhs_dd_v2
        return self.nhs_dd

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(v for v in VERSIONS if v in self.positions)


@dataclass(frozen=True)
class Layout:
    version: str
    label: str
    activity_from: date
    activity_to: date | None
    items: tuple[Item, ...]  # in TOS order
    activity_item: str
    report_item: str
    reads: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(i.column for i in self.items)

    def name(self, column: str) -> str:
        """The display name of the item a rule names `column` (resolved for this layout)."""
        return self.item(self.resolve(column)).name

    def item(self, column: str) -> Item:
        for it in self.items:
            if it.column == column:
                return it
        raise KeyError(column)

    def resolve(self, column: str) -> str:
        """The column this layout reads for a rule that names `column` (v1.0 names)."""
        return self.reads.get(column, column)

    def has(self, column: str) -> bool:
        return any(i.column == column for i in self.items)


@dataclass(frozen=True)
class Layouts:
    items: tuple[Item, ...]  # union, v1.0 order then v2.0 additions
    versions: dict[str, Layout]

    def __getitem__(self, version: str) -> Layout:
        return self.versions[version]

    def by_column_count(self, count: int) -> Layout | None:
        for layout in self.versions.values():
            if len(layout.items) == count:
                return layout
        return None

    def version_for(self, day: date) -> str:
        for v, layout in self.versions.items():
            if layout.activity_from <= day and (layout.activity_to is None or day <= layout.activity_to):
                return v
        return VERSIONS[0]


def convert_hint(version: str, needed: str) -> str:
    """What to run, for a file of ``version`` where ``needed`` is wanted: the converter's
    command for a v1.0 file that must be v2.0, else nothing."""
    if (version, needed) != ("1.0", "2.0"):
        return ""
    return (". To rewrite a v1.0 file in the v2.0 layout, run the converter: "
            f"{CONVERT_COMMAND} (or manage.py dids_convert), then check and send the "
            "converted file")


@cache
def load_layouts(path: str | Path | None = None) -> Layouts:
    """Read the layouts file (default: the shipped data/layouts.toml)."""
    with open(Path(path) if path else DATA_DIR / "layouts.toml", "rb") as fh:
        raw = tomllib.load(fh)
    items = tuple(
        Item(
            column=i["column"],
            name=i["name"],
            nhs_dd=i["nhs_dd"],
            group=i["group"],
            mr=i["mr"] if isinstance(i["mr"], str) else dict(i["mr"]),
            format=i["format"],
            kind=i["kind"],
            storage=i["storage"],
            positions=dict(i["positions"]),
            code_list=i.get("code_list"),
            nhs_dd_v2=i.get("nhs_dd_v2"),
            length=dict(i["length"]) if "length" in i else None,
            pattern=i.get("pattern"),
            record=i.get("record"),
            digits=dict(i["digits"]) if "digits" in i else None,
            ignore=dict(i["ignore"]) if "ignore" in i else None,
            partitions=tuple(i.get("partitions", ())),
            written=i.get("written"),
            offsets=dict(i["offsets"]) if "offsets" in i else None,
            inward=i.get("inward"),
        )
        for i in raw["item"]
    )
    for it in items:
        needs = SHAPES.get(it.kind, ())
        missing = [name for name in needs if not getattr(it, name)]
        if missing:
            raise ValueError(f"item {it.column}: an item of kind {it.kind!r} needs {missing}")
    versions = {}
    for v, spec in raw["versions"].items():
        mine = sorted((i for i in items if v in i.positions), key=lambda i: i.positions[v])
        if [i.positions[v] for i in mine] != list(range(1, len(mine) + 1)):
            raise ValueError(f"layout {v}: positions are not 1..n")
        if len(mine) != spec["columns"]:
            raise ValueError(f"layout {v}: {len(mine)} items but columns = {spec['columns']}")
        versions[v] = Layout(
            version=v,
            label=spec["label"],
            activity_from=spec["activity_from"],
            activity_to=spec.get("activity_to"),
            items=tuple(mine),
            activity_item=spec["activity_item"],
            report_item=spec["report_item"],
            reads=dict(spec.get("reads", {})),
        )
    return Layouts(items=items, versions=versions)


# Storage columns that are not items of either layout: the engine derives them.
_DERIVED: tuple[tuple[str, str], ...] = (
    ("activity_date", "date"),
    ("report_day", "date"),
    ("modality", "text"),
    ("dataset_version", "text"),
    ("warnings", "text"),
)


def _storage_columns() -> tuple[tuple[str, str], ...]:
    items = [(i.column, i.storage) for i in load_layouts().items]
    return (("line", "int"), *items, *_DERIVED)


STORAGE_COLUMNS: tuple[tuple[str, str], ...] = _storage_columns()
DERIVED_COLUMNS = frozenset({"line", *(name for name, _kind in _DERIVED)})


def record_item_columns() -> tuple[str, ...]:
    """The items the record table has a column of its own for (the others set a derived
    column: v1.0's test date is the activity date)."""
    return tuple(i.column for i in load_layouts().items if i.record is None)


def stored_columns(version: str) -> tuple[str, ...]:
    """The storage columns that can hold a value in a file of this version (the others are
    items of the other version, always empty)."""
    layout = load_layouts()[version]
    return tuple(name for name, _kind in STORAGE_COLUMNS
                 if name in DERIVED_COLUMNS or layout.has(name))


def display_name(column: str | None) -> str:
    """The display name of a column of either layout ("NHS number"); another text unchanged."""
    if not column:
        return ""
    for item in load_layouts().items:
        if item.column == column:
            return item.name
    return column
