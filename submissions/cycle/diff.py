"""The difference between two versions of one organisation and month, worked out in SQL.

Records are matched on their key, (site code, accession number), which DIDS071 keeps unique
within a version. One FULL OUTER JOIN of the two versions' records classifies every key as
added, removed or changed (any stored item IS DISTINCT FROM its counterpart); the counts are
a GROUP BY over it and a page is an ORDER BY ... LIMIT over it, so no Python loop ever sees
more than the page being shown. A page then loads its own records by primary key
(submission, line) and names the items that changed, with NHS numbers masked.

The join reads each version through the primary key's prefix (submission) and hashes one
side on the key; no index on the key is kept, because every extra index on records costs
about a fifth of the COPY that loads them (see ``bench/diff.py`` for the timings).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from dids_portal.lib.errors import DomainError
from reference.choices import Modality
from submissions.engine import load_layouts
from submissions.engine.masking import mask_nhs_number
from submissions.models import Record, Submission

KINDS = ("added", "removed", "changed")
PAGE_SIZE = 50

# Not compared: where a record sits in its file, and the warnings it drew.
_NOT_COMPARED = {"submission_id", "line", "warnings"}
_DERIVED_LABELS = {
    "activity_date": "Activity date",
    "report_day": "Report issue date",
    "modality": "Modality",
}


def compared_columns() -> list[str]:
    return [f.column for f in Record._meta.concrete_fields if f.column not in _NOT_COMPARED]


def _joined_sql() -> str:
    """The two versions' records side by side (old ``o``, new ``n``), with each row's kind."""
    table = connection.ops.quote_name(Record._meta.db_table)
    differs = " OR ".join(
        f'o."{c}" IS DISTINCT FROM n."{c}"' for c in compared_columns())
    return (
        "SELECT CASE WHEN o.line IS NULL THEN 'added' WHEN n.line IS NULL THEN 'removed' "  # noqa: S608
        f"WHEN {differs} THEN 'changed' END AS kind, "
        "o.line AS old_line, n.line AS new_line, "
        "COALESCE(n.site_code, o.site_code) AS site_code, "
        "COALESCE(n.accession_number, o.accession_number) AS accession_number, "
        "COALESCE(n.modality, o.modality) AS modality "
        f"FROM (SELECT * FROM {table} WHERE submission_id = %s) o "
        f"FULL OUTER JOIN (SELECT * FROM {table} WHERE submission_id = %s) n "
        "ON o.site_code = n.site_code AND o.accession_number = n.accession_number")


def modality_label(code: str) -> str:
    return str(Modality(code).label) if code in Modality.values else code


@dataclass
class ModalityCounts:
    code: str
    label: str
    before: int = 0
    after: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass
class DiffSummary:
    old_id: int
    new_id: int
    added: int
    removed: int
    changed: int
    by_modality: list[ModalityCounts]

    def count(self, kind: str | None) -> int:
        if kind in KINDS:
            return int(getattr(self, kind))
        return self.added + self.removed + self.changed


@dataclass
class Change:
    item: str
    before: Any
    after: Any


@dataclass
class DiffRow:
    kind: str
    site_code: str | None
    accession_number: str | None
    modality: str
    # For a changed record, the items that differ; for an added or removed one, what identifies it.
    changes: list[Change] = field(default_factory=list)
    nhs_number: str | None = None
    activity_date: Any = None


def check_comparable(*, old: Submission, new: Submission) -> None:
    if (old.organisation_id, old.activity_month) != (new.organisation_id, new.activity_month):
        raise DomainError("Only two versions of the same organisation and month can be compared.",
                          code="not_comparable")


def diff_summary(*, old: Submission, new: Submission) -> DiffSummary:
    """Added, removed and changed totals, and by modality with each version's record count
    (two queries, whatever the size of the versions)."""
    check_comparable(old=old, new=new)
    by_modality: dict[str, ModalityCounts] = {}

    def entry(code: str) -> ModalityCounts:
        if code not in by_modality:
            by_modality[code] = ModalityCounts(code=code, label=modality_label(code))
        return by_modality[code]

    totals: dict[str, int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, modality, count(*) FROM ({_joined_sql()}) d "  # noqa: S608
            "WHERE kind IS NOT NULL GROUP BY kind, modality", [old.pk, new.pk])
        for kind, code, n in cursor.fetchall():
            setattr(entry(code), kind, n)
            totals[kind] += n
        table = connection.ops.quote_name(Record._meta.db_table)
        cursor.execute(
            f"SELECT submission_id, modality, count(*) FROM {table} "  # noqa: S608
            "WHERE submission_id IN (%s, %s) GROUP BY submission_id, modality", [old.pk, new.pk])
        for submission_id, code, n in cursor.fetchall():
            if submission_id == old.pk:
                entry(code).before = n
            if submission_id == new.pk:
                entry(code).after = n
    return DiffSummary(old_id=old.pk, new_id=new.pk, added=totals["added"],
                       removed=totals["removed"], changed=totals["changed"],
                       by_modality=sorted(by_modality.values(), key=lambda m: m.label))


def _keys(*, old: Submission, new: Submission, kind: str | None, offset: int,
          limit: int) -> list[tuple[str, int | None, int | None, str, str, str]]:
    kinds = [kind] if kind in KINDS else list(KINDS)
    marks = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, old_line, new_line, site_code, accession_number, modality "  # noqa: S608
            f"FROM ({_joined_sql()}) d WHERE kind IN ({marks}) "
            "ORDER BY site_code, accession_number, kind LIMIT %s OFFSET %s",
            [old.pk, new.pk, *kinds, int(limit), int(offset)])
        return [tuple(r) for r in cursor.fetchall()]


def _labels(dataset_version: str) -> dict[str, str]:
    layouts = load_layouts()
    layout = layouts[dataset_version] if dataset_version in layouts.versions else None
    labels = {item.column: item.nhs_dd_name(dataset_version) for item in layouts.items}
    if layout is not None:
        labels.update({item.column: item.nhs_dd_name(layout.version) for item in layout.items})
    labels.update(_DERIVED_LABELS)
    return labels


def _shown(column: str, value: Any) -> Any:
    return mask_nhs_number(value) if column == "nhs_number" else value


def diff_page(*, old: Submission, new: Submission, kind: str | None = None, page: int = 1,
              page_size: int = PAGE_SIZE) -> list[DiffRow]:
    """One page of the difference in key order (three queries: the keys, then the page's
    records of each version by primary key)."""
    check_comparable(old=old, new=new)
    keys = _keys(old=old, new=new, kind=kind, offset=(max(page, 1) - 1) * page_size,
                 limit=page_size)
    columns = compared_columns()

    def records(submission: Submission, lines: list[int]) -> dict[int, Record]:
        if not lines:
            return {}
        return {r.line: r for r in Record.objects.filter(submission_id=submission.pk,
                                                         line__in=lines)}

    olds = records(old, [k[1] for k in keys if k[1] is not None])
    news = records(new, [k[2] for k in keys if k[2] is not None])
    labels = _labels(new.dataset_version)
    rows = []
    for row_kind, old_line, new_line, site, accession, code in keys:
        before = olds.get(old_line) if old_line is not None else None
        after = news.get(new_line) if new_line is not None else None
        shown = after or before
        row = DiffRow(kind=row_kind, site_code=site, accession_number=accession,
                      modality=modality_label(code),
                      nhs_number=mask_nhs_number(shown.nhs_number) if shown else None,
                      activity_date=shown.activity_date if shown else None)
        if before is not None and after is not None:
            for column in columns:
                was, now = getattr(before, column), getattr(after, column)
                if was != now:
                    row.changes.append(Change(item=labels.get(column, column),
                                              before=_shown(column, was),
                                              after=_shown(column, now)))
        rows.append(row)
    return rows


# The API's summary: totals, keys of each kind (at most ``limit``) and counts by modality.

@dataclass
class VersionDiff:
    old_id: int
    new_id: int
    added_count: int
    removed_count: int
    changed_count: int
    # (site code, accession number) pairs, at most ``limit`` of each, in key order.
    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]
    changed: list[tuple[str, str]]
    counts_by_modality: dict[str, dict[str, int]]


def version_diff(*, old: Submission, new: Submission, limit: int = 1000) -> VersionDiff:
    """What changes between two versions of one organisation and month, by record key
    (site code, accession number): added, removed, changed, and counts by modality."""
    summary = diff_summary(old=old, new=new)
    listed = {kind: [(k[3], k[4]) for k in _keys(old=old, new=new, kind=kind, offset=0,
                                                   limit=limit)] for kind in KINDS}
    return VersionDiff(
        old_id=old.pk, new_id=new.pk, added_count=summary.added,
        removed_count=summary.removed, changed_count=summary.changed, added=listed["added"],
        removed=listed["removed"], changed=listed["changed"],
        counts_by_modality={m.code: {"before": m.before, "after": m.after}
                            for m in sorted(summary.by_modality, key=lambda m: m.code)})
