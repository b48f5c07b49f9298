"""The data-quality score per item, in the manner of NHS England's Data Quality Maturity Index,
and the record counts by modality and site that plausibility compares. Plain Python and polars.

For each scored item, a record counts as good when the item is present, valid (no finding of
any rule about that item, warnings included) and not a default code. An item's share is the
percentage of the file's records that are good; the file's score is the mean of the shares.
Rules name v1.0 items; a v2.0 file reads the item its layout maps them to (test date ->
procedure start, report date -> report issued).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .layout import Layout

SENTINEL_NHS_NUMBERS = ("0000000000", "1111111111", "9999999999", "0123456789")
REFERRER_STORED_DEFAULT = "99"  # what a referrer code failing its patterns is stored as


@dataclass(frozen=True)
class ScoredItem:
    key: str
    label: str
    items: tuple[str, ...]  # v1.0 item names; present when any is given
    defaults: tuple[str, ...] = ()  # default codes (compared upper-case, spaces removed)
    default_prefix: str | None = None
    default_list: str | None = None  # a reference code list of further default codes
    default_text: str = "none"


SCORED_ITEMS: tuple[ScoredItem, ...] = (
    ScoredItem(
        "nhs_number",
        "NHS number",
        ("nhs_number",),
        SENTINEL_NHS_NUMBERS,
        default_text="sentinel numbers " + ", ".join(SENTINEL_NHS_NUMBERS),
    ),
    ScoredItem("birth_date", "Birth date", ("birth_date",)),
    ScoredItem(
        "gender", "Gender", ("gender",), ("0", "9"), default_text="0 (not known), 9 (not specified)"
    ),
    ScoredItem(
        "ethnic_category",
        "Ethnic category",
        ("ethnic_category",),
        ("Z", "99"),
        default_text="Z (not stated), 99 (not known)",
    ),
    ScoredItem(
        "postcode",
        "Postcode",
        ("postcode",),
        default_prefix="ZZ99",
        default_text="ZZ99 pseudo-postcodes",
    ),
    ScoredItem(
        "gp_practice",
        "GP practice",
        ("gp_practice",),
        ("V81999", "V81998"),
        default_text="V81999 (not known), V81998 (not applicable)",
    ),
    ScoredItem("patient_source_setting", "Patient source setting", ("patient_source_setting",)),
    ScoredItem(
        "referrer_code",
        "Referrer code",
        ("referrer_code",),
        (REFERRER_STORED_DEFAULT,),
        default_list="referrer_default",
        default_text="the referrer default codes (N9999998, G9999998 and the others) and 99",
    ),
    ScoredItem("imaging_code", "Imaging code (NICIP or SNOMED CT)", ("nicip_code", "snomed_code")),
    ScoredItem("request_date", "Request date", ("request_date",)),
    ScoredItem("request_received_date", "Request received date", ("request_received_date",)),
    ScoredItem("test_date", "Test date (v2.0: procedure start)", ("test_date",)),
    ScoredItem("report_date", "Report date (v2.0: report issued)", ("report_date",)),
)


@dataclass
class ItemTally:
    records: int = 0
    present: int = 0
    valid: int = 0  # present and valid
    good: int = 0  # present, valid and not a default code

    def share(self) -> float:
        return 100.0 * self.good / self.records if self.records else 0.0


@dataclass
class QualityTally:
    """Counts gathered batch by batch during validation."""

    items: dict[str, ItemTally] = field(
        default_factory=lambda: {s.key: ItemTally() for s in SCORED_ITEMS}
    )
    # columns whose values mostly differ (an earlier batch's): scanned whole, not their uniques
    varied: set[str] = field(default_factory=set)

    def add(
        self,
        df: pl.DataFrame,
        layout: Layout,
        failing: Mapping[str, Sequence[str]],
        default_lists: Mapping[str, Iterable[str]],
        normalised: Mapping[str, tuple[str, bool]] | None = None,
    ) -> None:
        """Count one prepared batch. `failing` maps a file column to the names of the batch's
        boolean columns that are True where a rule fails about that column; `normalised`, a
        file column to a column of the batch that holds its values without spaces (and an NHS
        number's hyphens), and whether that is also upper-cased (prepare.NORMALISED)."""
        if df.height == 0:
            return
        normalised = normalised or {}
        plain = _plain_columns(df, layout, default_lists, set(normalised), self.varied)
        exprs: list[pl.Expr] = []
        for item in SCORED_ITEMS:
            columns = [layout.resolve(name) for name in item.items]
            present = pl.any_horizontal(pl.col(c).is_not_null() for c in columns)
            masks = [m for c in columns for m in failing.get(c, ())]
            invalid = pl.any_horizontal(pl.col(m) for m in masks) if masks else pl.lit(False)
            valid = present & ~invalid
            good = valid & ~_is_default(item, columns, default_lists, plain, normalised)
            exprs += [
                present.sum().alias(f"{item.key}:present"),
                valid.sum().alias(f"{item.key}:valid"),
                good.sum().alias(f"{item.key}:good"),
            ]
        row = df.lazy().select(exprs).collect().row(0, named=True)  # each presence and validity once
        for item in SCORED_ITEMS:
            tally = self.items[item.key]
            tally.records += df.height
            tally.present += int(row[f"{item.key}:present"])
            tally.valid += int(row[f"{item.key}:valid"])
            tally.good += int(row[f"{item.key}:good"])

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Per item: its label, the counts and the share (percent, one decimal)."""
        labels = {s.key: s.label for s in SCORED_ITEMS}
        return {
            key: {
                "label": labels[key],
                "records": t.records,
                "present": t.present,
                "valid": t.valid,
                "good": t.good,
                "share": round(t.share(), 1),
            }
            for key, t in self.items.items()
        }

    def score(self) -> float | None:
        """The mean of the items' shares (one decimal), or None with no records."""
        return score_of(self.to_dict())


def score_of(quality: Mapping[str, Mapping[str, Any]]) -> float | None:
    """The score of stored per-item counts: the mean of the items' exact shares."""
    shares = [100.0 * q["good"] / q["records"] for q in quality.values() if q.get("records")]
    return round(sum(shares) / len(shares), 1) if shares else None


def combine(qualities: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per-item counts of several files added together (a month of several organisations, or
    a month's files) with their shares."""
    total: dict[str, dict[str, Any]] = {}
    for quality in qualities:
        for key, q in quality.items():
            into = total.setdefault(
                key,
                {"label": q.get("label", key), "records": 0, "present": 0, "valid": 0, "good": 0},
            )
            for name in ("records", "present", "valid", "good"):
                into[name] += int(q.get(name, 0))
    for q in total.values():
        q["share"] = round(100.0 * q["good"] / q["records"], 1) if q["records"] else 0.0
    return total


def _has_defaults(item: ScoredItem, default_lists: Mapping[str, Iterable[str]]) -> bool:
    return bool(item.defaults or item.default_prefix or default_lists.get(item.default_list or ""))


def _plain_columns(
    df: pl.DataFrame,
    layout: Layout,
    default_lists: Mapping[str, Iterable[str]],
    normalised: set[str],
    varied: set[str],
) -> set[str]:
    """The columns with default codes whose every value in this batch is only digits and
    capital letters: their values are already normalised (upper case, no spaces or hyphens),
    so the default test compares them as they are. One scan each, cheaper than normalising;
    none for a column whose first value already has another character (postcodes' spaces).
    A column of few distinct values has only those scanned (finding them costs less than
    scanning every value); one whose values mostly differ is added to ``varied`` and is
    scanned whole from then on. Which is scanned changes the cost, never the result."""
    first = df.row(0, named=True)
    columns = sorted(
        {
            column
            for item in SCORED_ITEMS
            if _has_defaults(item, default_lists)
            for column in (layout.resolve(name) for name in item.items)
            if column not in normalised and (first[column] is None or not _OTHER.search(first[column]))
        }
    )
    if not columns:
        return set()
    exprs: list[pl.Expr] = []
    for c in columns:
        values = pl.col(c) if c in varied else pl.col(c).unique()
        exprs.append(values.str.contains(_OTHER.pattern).any().alias(c))
        if c not in varied:
            exprs.append(values.len().alias(f"{c}:distinct"))
    found = df.lazy().select(exprs).collect().row(0, named=True)
    varied.update(c for c in columns if found.get(f"{c}:distinct", 0) * 4 > df.height)
    return {c for c in columns if not found[c]}


_OTHER = re.compile("[^0-9A-Z]")  # a character that is not a digit or a capital letter


def _is_default(
    item: ScoredItem,
    columns: list[str],
    default_lists: Mapping[str, Iterable[str]],
    plain: set[str],
    normalised: Mapping[str, tuple[str, bool]],
) -> pl.Expr:
    codes = list(item.defaults) + [
        c.upper() for c in default_lists.get(item.default_list or "", ())
    ]
    if not codes and not item.default_prefix:
        return pl.lit(False)
    # no character upper-cases to a digit: codes of digits alone need no upper-casing
    digits = all(c.isascii() and c.isdigit() for c in [*codes, *filter(None, [item.default_prefix])])
    parts = []
    for column in columns:
        value = pl.col(column)
        if column in normalised:
            name, upper = normalised[column]
            value = pl.col(name) if upper or digits else pl.col(name).str.to_uppercase()
        elif column not in plain:
            value = value.str.replace_all(" ", "", literal=True)
            if not digits:
                value = value.str.to_uppercase()
            if item.key == "nhs_number":
                value = value.str.replace_all("-", "", literal=True)
        test = value.is_in(pl.Series(codes, dtype=pl.String).implode()) if codes else pl.lit(False)
        if item.default_prefix:
            test = test | value.str.starts_with(item.default_prefix)
        parts.append(test.fill_null(False))
    return pl.any_horizontal(parts)


def count_records(df: pl.DataFrame, counts: dict[str, dict[str, int]]) -> None:
    """Add accepted rows (the storage frame) to counts by modality, then site:
    ``{"CT": {"RR801": 412}}``."""
    if df.height:
        add_record_counts(df.group_by("modality", "site_code").len().iter_rows(), counts)


def add_record_counts(rows: Iterable[tuple[Any, ...]], counts: dict[str, dict[str, int]]) -> None:
    """Add (modality, site, records) rows to counts by modality, then site; a record with no
    modality counts as OTHER, one with no site under ""."""
    for modality, site, n in rows:
        into = counts.setdefault(modality or "OTHER", {})
        into[site or ""] = into.get(site or "", 0) + int(n)
