"""Readers for reference release files: the portal's own CSV layout and NHS England formats.

Each reader yields plain dicts keyed by the portal's field names, with a ``_where`` entry
(file and line) for error messages. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "sample"

# The portal's layout: one CSV a kind, with these columns (see reference/data/README.md).
PORTAL_FILES: dict[str, tuple[str, ...]] = {
    "code_lists.csv": ("list", "code", "description", "valid_from", "valid_to"),
    "organisations.csv": ("code", "name", "type", "region", "in_scope_from", "in_scope_to",
                          "opened", "closed", "successor"),
    "sites.csv": ("code", "name", "organisation", "opened", "closed"),
    "submitting_arrangements.csv": ("submitter", "organisation", "valid_from", "valid_to"),
    "snomed.csv": ("concept_id", "description", "modality", "valid_from", "valid_to"),
    "nicip.csv": ("code", "description", "modality", "snomed_code", "valid_from", "valid_to"),
}


class ReleaseFileError(ValueError):
    """A release file is malformed: the message names the file, the line and the field."""


@dataclass
class ReleaseFiles:
    label: str
    source: str
    is_sample: bool
    paths: list[Path] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def parse_date(value: str | None, where: str, column: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ReleaseFileError(f"{where}: {column} {value!r} is not a date (YYYY-MM-DD or YYYYMMDD).")


def _read_portal_csv(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ReleaseFileError(f"{path.name}: missing column(s) {', '.join(missing)}.")
        for line, row in enumerate(reader, start=2):
            where = f"{path.name} line {line}"
            clean = {c: (row.get(c) or "").strip() for c in columns}
            for c in columns:
                if c in {"valid_from", "valid_to", "opened", "closed", "in_scope_from",
                         "in_scope_to"}:
                    clean[c] = parse_date(clean[c], where, c)
            clean["_where"] = where
            yield clean


def read_portal_directory(directory: Path) -> ReleaseFiles:
    """A release in the portal's own layout (the shipped sample, or a converted full release)."""
    if not directory.is_dir():
        raise ReleaseFileError(f"{directory} is not a directory.")
    meta: dict[str, Any] = {}
    release_json = directory / "release.json"
    if release_json.exists():
        meta = json.loads(release_json.read_text(encoding="utf-8"))
    release = ReleaseFiles(
        label=str(meta.get("label") or directory.name),
        source=str(meta.get("source") or str(directory)),
        is_sample=bool(meta.get("sample", False)),
    )
    if release_json.exists():
        release.paths.append(release_json)
    for name, columns in PORTAL_FILES.items():
        path = directory / name
        if path.exists():
            release.paths.append(path)
            release.rows[name] = list(_read_portal_csv(path, columns))
    if not release.rows:
        raise ReleaseFileError(f"{directory} holds none of {', '.join(PORTAL_FILES)}.")
    return release


# ODS CSV files (etr/ets/epraccur…) have no header; these positions are the published layout.
ODS_CODE, ODS_NAME, ODS_OPEN, ODS_CLOSE = 0, 1, 10, 11
ODS_PARENT = 14  # the parent organisation of a site (ets.csv, column 15)


UPPER_WORDS = frozenset({"NHS", "GP", "UK", "CIC", "LLP", "ICB", "PCN", "CT", "MRI"})


def ods_name(raw: str) -> str:
    """ODS names are upper case; show them in title case, keeping the acronyms."""
    return " ".join(word if word in UPPER_WORDS else word.capitalize() for word in raw.strip().split())


def read_ods(path: Path, *, kind: str) -> list[dict[str, Any]]:
    """ODS organisation files: ``trusts`` (etr.csv), ``sites`` (ets.csv), ``gp`` (epraccur.csv)."""
    rows: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, cells in enumerate(csv.reader(handle), start=1):
            if not cells:
                continue
            where = f"{path.name} line {line}"
            if len(cells) <= ODS_CLOSE or (kind == "sites" and len(cells) <= ODS_PARENT):
                raise ReleaseFileError(f"{where}: too few columns for an ODS {kind} file.")
            row: dict[str, Any] = {
                "code": cells[ODS_CODE].strip().upper(),
                "name": ods_name(cells[ODS_NAME]),
                "opened": parse_date(cells[ODS_OPEN], where, "open date"),
                "closed": parse_date(cells[ODS_CLOSE], where, "close date"),
                "_where": where,
            }
            if kind == "sites":
                row["organisation"] = cells[ODS_PARENT].strip().upper()
            rows.append(row)
    return rows
