"""The difference between two versions of one organisation and month, worked out in SQL.

Records are matched on their key, (site code, accession number), which DIDS071 keeps unique
within a version. One FULL OUTER JOIN of the two versions' records classifies every key as
added, removed or changed (any stored item IS DISTINCT FROM its counterpart); the counts are
a GROUP BY over it and a page is an ORDER BY ... LIMIT over it, so no Python loop ever sees
more than the page being shown. A page then loads its own records by primary key
(submission, line) and names the items that changed, with NHS numbers masked.

The join reads each version through the primary key's prefix (submission) and hashes one
side on the key. No index on (submission, site code, accession number) is kept: tried on two
300,000-record versions, PostgreSQL still chose the hash join, and a merge join over that
index (forced) took twice as long; and every extra index on records costs about a fifth of
the COPY that loads them. ``bench/diff.py`` times the page.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import reduce
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from dids_portal.lib.errors import DomainError
from reference.choices import Modality
from submissions.engine import load_layouts
from submissions.engine.masking import mask_nhs_number
from submissions.models import Record, Submission
from submissions.records_archive import RECORD_TABLE, archived_records, records_source

KINDS = ("added", "removed", "changed")
PAGE_SIZE = 50

# Not compared: where a record sits in its file, and the warnings it drew.
_NOT_COMPARED = {"submission_id", "line", "activity_month", "warnings"}
_DERIVED_LABELS = {
    "activity_date": "Activity date",
    "report_day": "Report issue date",
    "modality": "Modality",
}


def compared_columns() -> list[str]:
    return [
        f.column for f in Record._meta.concrete_fields if f.column and f.column not in _NOT_COMPARED
    ]


_KEY = "o.site_code = n.site_code AND o.accession_number = n.accession_number"
_SIDES = (
    "COALESCE(n.site_code, o.site_code) AS site_code, "
    "COALESCE(n.accession_number, o.accession_number) AS accession_number, "
    "COALESCE(n.modality, o.modality) AS modality, "
    "o.modality AS old_modality, n.modality AS new_modality"
)


def _with_sql(old_id: int, new_id: int, month: date, table: str) -> tuple[str, list[Any]]:
    """``WITH ... d``: the two versions' records side by side (old ``o``, new ``n``), one row a
    key with its kind (added, removed, changed or the same), materialised narrow; and its
    parameters. Both versions are of ``month``: PostgreSQL reads that month's partition only.
    ``table``: where the records are (``records_source``)."""
    differs = " OR ".join(f'o."{c}" IS DISTINCT FROM n."{c}"' for c in compared_columns())
    if connection.vendor == "postgresql":
        return (
            (
                "WITH d AS MATERIALIZED (SELECT CASE WHEN o.line IS NULL THEN 'added' "  # noqa: S608
                f"WHEN n.line IS NULL THEN 'removed' WHEN {differs} THEN 'changed' ELSE 'same' END "
                f"AS kind, o.line AS old_line, n.line AS new_line, {_SIDES} "
                f"FROM (SELECT * FROM {table} x WHERE submission_id = %s "
                f"AND activity_month = %s) o "
                f"FULL OUTER JOIN (SELECT * FROM {table} y WHERE submission_id = %s "
                f"AND activity_month = %s) n ON {_KEY})"
            ),
            [old_id, month, new_id, month],
        )
    # SQLite joins a FULL OUTER JOIN by nested loops, and makes an automatic index for a
    # lookup only where it can tell it pays: so each new record looks its key up in the old
    # version's keys (``m``), records come by primary key, and the removed ones are those old
    # lines NOT IN the matched ones (an ephemeral index, always).
    return (
        (
            f"WITH o AS MATERIALIZED (SELECT line, site_code, accession_number FROM {table} "  # noqa: S608
            "WHERE submission_id = %s), "
            "m AS MATERIALIZED (SELECT k.line AS new_line, (SELECT o.line FROM o WHERE "
            "o.site_code = k.site_code AND o.accession_number = k.accession_number) AS old_line "
            f"FROM {table} k WHERE k.submission_id = %s), "
            "d AS MATERIALIZED (SELECT CASE WHEN m.old_line IS NULL THEN 'added' "
            f"WHEN {differs} THEN 'changed' ELSE 'same' END AS kind, m.old_line AS old_line, "
            f"m.new_line AS new_line, {_SIDES} FROM m JOIN {table} n "
            f"ON n.submission_id = %s AND n.line = m.new_line LEFT JOIN {table} o "
            "ON o.submission_id = %s AND o.line = m.old_line "
            "UNION ALL SELECT 'removed', o.line, NULL, o.site_code, o.accession_number, "
            f"o.modality, o.modality, NULL FROM {table} o WHERE o.submission_id = %s "
            "AND o.line NOT IN (SELECT old_line FROM m WHERE old_line IS NOT NULL))"
        ),
        [old_id, new_id, new_id, old_id, old_id],
    )


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
        raise DomainError(
            "Only two versions of the same organisation and month can be compared.",
            code="not_comparable",
        )


def _scan(
    *,
    old: Submission,
    new: Submission,
    kinds: list[str],
    offset: int,
    limit: int,
    per_kind: bool = False,
    table: str = RECORD_TABLE,
) -> tuple[DiffSummary, list[tuple[Any, ...]]]:
    """One statement: the join once (materialised narrow: kinds, lines, keys, modalities),
    its counts by kind and modality, each version's counts by modality, and the keys of one
    page in key order (``per_kind``: the first ``limit`` keys of each kind)."""
    check_comparable(old=old, new=new)
    marks = ", ".join(["%s"] * len(kinds))
    window: list[str | int]
    if per_kind:
        listed = (
            "SELECT * FROM (SELECT d.*, row_number() OVER (PARTITION BY kind "  # noqa: S608
            f"ORDER BY site_code, accession_number) AS pos FROM d WHERE kind IN ({marks})) r "
            "WHERE pos > %s AND pos <= %s"
        )
        window = [*kinds, int(offset), int(offset) + int(limit)]
    else:
        listed = (
            "SELECT d.*, row_number() OVER (ORDER BY site_code, accession_number, kind) "  # noqa: S608
            f"AS pos FROM d WHERE kind IN ({marks}) "
            "ORDER BY site_code, accession_number, kind LIMIT %s OFFSET %s"
        )
        window = [*kinds, int(limit), int(offset)]
    with_sql, with_params = _with_sql(old.pk, new.pk, new.activity_month, table)
    sql = (
        f"{with_sql} "  # noqa: S608
        "SELECT 'diff', kind, modality, count(*), CAST(NULL AS integer), CAST(NULL AS integer), "
        "CAST(NULL AS text), CAST(NULL AS text), CAST(NULL AS integer) "
        "FROM d WHERE kind <> 'same' GROUP BY kind, modality "
        "UNION ALL SELECT 'version', 'before', old_modality, count(*), NULL, NULL, NULL, NULL, "
        "NULL FROM d WHERE old_line IS NOT NULL GROUP BY old_modality "
        "UNION ALL SELECT 'version', 'after', new_modality, count(*), NULL, NULL, NULL, NULL, "
        "NULL FROM d WHERE new_line IS NOT NULL GROUP BY new_modality "
        "UNION ALL SELECT 'keys', kind, modality, NULL, old_line, new_line, site_code, "
        f"accession_number, pos FROM ({listed}) p"
    )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The join hashes one version's records whole: in memory up to about 700,000
            # records, not in batches on disk; and no JIT compiling for one statement.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, [*with_params, *window])
        result = cursor.fetchall()
    by_modality: dict[str, ModalityCounts] = {}
    totals: dict[str, int] = defaultdict(int)
    keys = []
    for part, kind, code, n, old_line, new_line, site, accession, pos in result:
        if part == "keys":
            keys.append((pos, kind, old_line, new_line, site, accession, code))
            continue
        if code not in by_modality:
            by_modality[code] = ModalityCounts(code=code, label=modality_label(code))
        setattr(by_modality[code], kind, n)
        if part == "diff":
            totals[kind] += n
    summary = DiffSummary(
        old_id=old.pk,
        new_id=new.pk,
        added=totals["added"],
        removed=totals["removed"],
        changed=totals["changed"],
        by_modality=sorted(by_modality.values(), key=lambda m: m.label),
    )
    return summary, [k[1:] for k in sorted(keys, key=lambda k: (k[1], k[0]) if per_kind else k[0])]


def _labels(dataset_version: str) -> dict[str, str]:
    """Each stored item's name as people read it, in sentence case ("NHS number")."""
    labels = {item.column: item.name[:1].upper() + item.name[1:] for item in load_layouts().items}
    labels.update(_DERIVED_LABELS)
    return labels


def _shown(column: str, value: Any) -> Any:
    return mask_nhs_number(value) if column == "nhs_number" else value


def version_compare(
    *,
    old: Submission,
    new: Submission,
    kind: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[DiffSummary, list[DiffRow]]:
    """The counts and one page of the difference in key order (``kind``: only added, removed
    or changed). Two queries whatever the size: the scan, then the page's records of both
    versions by primary key."""
    with records_source([old.pk, new.pk]) as table:
        summary, keys = _scan(
            old=old,
            new=new,
            kinds=[kind] if kind in KINDS else list(KINDS),
            offset=(max(page, 1) - 1) * page_size,
            limit=page_size,
            table=table,
        )
    columns = compared_columns()

    # The page's records of both versions, by primary key, in one query (an archived
    # version's from its Parquet file).
    wanted = []
    fetched: dict[tuple[int, int], Record] = {}
    for submission, lines in ((old, [k[1] for k in keys if k[1] is not None]),
                              (new, [k[2] for k in keys if k[2] is not None])):
        if lines and submission.records_archive:
            fetched.update({(r.submission_id, r.line): r
                            for r in archived_records(submission, lines)})
        elif lines:
            wanted.append(Q(submission_id=submission.pk, activity_month=submission.activity_month,
                            line__in=lines))
    if wanted:
        fetched.update({
            (r.submission_id, r.line): r
            for r in Record.objects.filter(reduce(operator.or_, wanted))
        })
    olds = {line: r for (sid, line), r in fetched.items() if sid == old.pk}
    news = {line: r for (sid, line), r in fetched.items() if sid == new.pk}
    labels = _labels(new.dataset_version)
    rows = []
    for row_kind, old_line, new_line, site, accession, code in keys:
        before = olds.get(old_line) if old_line is not None else None
        after = news.get(new_line) if new_line is not None else None
        shown = after or before
        row = DiffRow(
            kind=row_kind,
            site_code=site,
            accession_number=accession,
            modality=modality_label(code),
            nhs_number=mask_nhs_number(shown.nhs_number) if shown else None,
            activity_date=shown.activity_date if shown else None,
        )
        if before is not None and after is not None:
            for column in columns:
                was, now = getattr(before, column), getattr(after, column)
                if was != now:
                    row.changes.append(
                        Change(
                            item=labels.get(column, column),
                            before=_shown(column, was),
                            after=_shown(column, now),
                        )
                    )
        rows.append(row)
    return summary, rows


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
    with records_source([old.pk, new.pk]) as table:
        summary, keys = _scan(old=old, new=new, kinds=list(KINDS), offset=0, limit=limit,
                              per_kind=True, table=table)
    listed: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
    for kind, _old_line, _new_line, site, accession, _code in keys:
        listed[kind].append((site, accession))
    return VersionDiff(
        old_id=old.pk,
        new_id=new.pk,
        added_count=summary.added,
        removed_count=summary.removed,
        changed_count=summary.changed,
        added=listed["added"],
        removed=listed["removed"],
        changed=listed["changed"],
        counts_by_modality={
            m.code: {"before": m.before, "after": m.after}
            for m in sorted(summary.by_modality, key=lambda m: m.code)
        },
    )
