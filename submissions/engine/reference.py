"""The reference snapshot: code lists, imaging codes and organisations as plain data."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

Interval = tuple[date | None, date | None]


@dataclass(frozen=True)
class NicipCode:
    code: str
    modality: str
    snomed_code: str | None
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class SnomedCode:
    concept_id: str
    modality: str
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class OrgRef:
    code: str
    type: str
    opened: date | None
    closed: date | None
    successor: str | None = None


@dataclass(frozen=True)
class SiteRef:
    code: str
    organisation: str
    opened: date | None
    closed: date | None


@dataclass(frozen=True)
class Arrangement:
    submitter: str
    organisation: str
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class ReferenceSnapshot:
    """Everything the engine needs from reference data, valid for the period being checked.

    code_lists maps list name -> code -> validity intervals (None = open-ended).
    """

    release: str
    code_lists: dict[str, dict[str, list[Interval]]]
    nicip: dict[str, NicipCode] = field(default_factory=dict)
    snomed: dict[str, SnomedCode] = field(default_factory=dict)
    organisations: dict[str, OrgRef] = field(default_factory=dict)
    sites: dict[str, SiteRef] = field(default_factory=dict)
    arrangements: list[Arrangement] = field(default_factory=list)

    @classmethod
    def from_directory(cls, path: str | Path) -> ReferenceSnapshot:
        """Read the CSV files of reference/data/sample (or a release in the same format)."""
        root = Path(path)
        release = json.loads((root / "release.json").read_text(encoding="utf-8"))["label"]
        code_lists: dict[str, dict[str, list[Interval]]] = {}
        for row in _rows(root / "code_lists.csv"):
            code_lists.setdefault(row["list"], {}).setdefault(row["code"], []).append(
                (_date(row["valid_from"]), _date(row["valid_to"]))
            )
        nicip = {
            r["code"]: NicipCode(
                r["code"], r["modality"] or "OTHER", r["snomed_code"] or None,
                _date(r["valid_from"]), _date(r["valid_to"]),
            )
            for r in _rows(root / "nicip.csv")
        }
        snomed = {
            r["concept_id"]: SnomedCode(
                r["concept_id"], r["modality"] or "OTHER", _date(r["valid_from"]), _date(r["valid_to"])
            )
            for r in _rows(root / "snomed.csv")
        }
        orgs = {
            r["code"]: OrgRef(
                r["code"], r["type"], _date(r["opened"]), _date(r["closed"]), r["successor"] or None
            )
            for r in _rows(root / "organisations.csv")
        }
        sites = {
            r["code"]: SiteRef(r["code"], r["organisation"], _date(r["opened"]), _date(r["closed"]))
            for r in _rows(root / "sites.csv")
        }
        arrangements = [
            Arrangement(r["submitter"], r["organisation"], _date(r["valid_from"]), _date(r["valid_to"]))
            for r in _rows(root / "submitting_arrangements.csv")
        ]
        return cls(release, code_lists, nicip, snomed, orgs, sites, arrangements)

    def codes(self, list_name: str) -> dict[str, list[Interval]]:
        return self.code_lists.get(list_name, {})

    def owners_of(self, org: str) -> set[str]:
        """The organisation and every successor it merged into (the chain of owners)."""
        owners: set[str]
        current: str | None
        owners, current = set(), org
        while current and current not in owners:
            owners.add(current)
            ref = self.organisations.get(current)
            current = ref.successor if ref else None
        return owners

    def may_submit_for(self, submitter: str, organisation: str, on: date) -> bool:
        if submitter in self.owners_of(organisation):
            return True
        return any(
            a.submitter == submitter
            and a.organisation == organisation
            and (a.valid_from is None or a.valid_from <= on)
            and (a.valid_to is None or on <= a.valid_to)
            for a in self.arrangements
        )


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
