"""Writes for reference data. Loading a release is all-or-nothing and recorded in history."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.audit import audit_record
from accounts.choices import AuditAction
from reference.choices import OrganisationType
from reference.loaders import ReleaseFileError, ReleaseFiles
from reference.models import (
    Code,
    CodeList,
    NicipCode,
    Organisation,
    ReferenceRelease,
    Site,
    SnomedConcept,
    SubmittingArrangement,
)


@dataclass
class LoadCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _checksum(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _upsert(model: type[models.Model], rows: list[dict[str, Any]], *, key: tuple[str, ...],
            fields: tuple[str, ...], actor: Any, reason: str,
            create_fields: tuple[str, ...] = ()) -> LoadCounts:
    """Create new rows, update changed ones, leave the rest alone; history for each write."""
    counts = LoadCounts()
    existing = {tuple(getattr(o, k) for k in key): o for o in model.objects.all()}  # type: ignore[attr-defined]  # django-stubs: Model declares no objects; these models all have it
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    seen: set[tuple[Any, ...]] = set()
    for row in rows:
        ident = tuple(row[k] for k in key)
        if ident in seen:
            raise ReleaseFileError(f"{row['_where']}: duplicate {', '.join(key)} {ident}.")
        seen.add(ident)
        obj = existing.get(ident)
        if obj is None:
            obj = model(**{k: row[k] for k in (*key, *fields, *create_fields)})
            to_create.append(obj)
        elif any(getattr(obj, f) != row[f] for f in fields):
            for f in fields:
                setattr(obj, f, row[f])
            to_update.append(obj)
        else:
            counts.unchanged += 1
            continue
        try:
            obj.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise ReleaseFileError(f"{row['_where']}: {problems}") from exc
    if to_create:
        bulk_create_with_history(to_create, model, batch_size=1000, default_user=actor,
                                 default_change_reason=reason)
    if to_update:
        bulk_update_with_history(to_update, model, list(fields), batch_size=1000,
                                 default_user=actor, default_change_reason=reason)
    counts.created, counts.updated = len(to_create), len(to_update)
    return counts


def _with_fk(rows: list[dict[str, Any]], column: str, attname: str) -> list[dict[str, Any]]:
    return [{**r, attname: r[column] or None} for r in rows]


@transaction.atomic
def reference_release_load(*, release: ReleaseFiles, actor: Any = None,
                           extra: dict[str, list[dict[str, Any]]] | None = None,
                           ) -> tuple[ReferenceRelease, bool]:
    """Load a release; returns the release row and whether anything changed.

    Loading the same files again changes nothing and records no new release.
    """
    reason = f"Reference release '{release.label}'"
    rows = release.rows
    summary: dict[str, dict[str, int]] = {}

    code_rows = rows.get("code_lists.csv", [])
    list_names = sorted({r["list"] for r in code_rows})
    list_rows = [{"name": n, "title": n.replace("_", " ").capitalize(), "_where": "code_lists.csv"}
                 for n in list_names]
    existing_lists = set(CodeList.objects.values_list("name", flat=True))
    summary["code lists"] = _upsert(
        CodeList, [r for r in list_rows if r["name"] not in existing_lists], key=("name",),
        fields=("title",), actor=actor, reason=reason,
    ).as_dict()
    summary["codes"] = _upsert(
        Code, _with_fk(code_rows, "list", "code_list_id"), key=("code_list_id", "code", "valid_from"),
        fields=("description", "valid_to"), actor=actor, reason=reason,
    ).as_dict()

    org_rows = rows.get("organisations.csv", [])
    defaults = {"region": "", "in_scope_from": None, "in_scope_to": None}
    summary["organisations"] = _upsert(
        Organisation, [{**defaults, **r} for r in org_rows], key=("code",),
        fields=("name", "type", "region", "in_scope_from", "in_scope_to", "opened", "closed"),
        actor=actor, reason=reason,
    ).as_dict()
    ods_rows = (extra or {}).get("organisations", [])
    if ods_rows:
        # ODS says what an organisation is called and when it opened and closed; the portal's
        # own data says its region and collection scope, which an ODS load must not wipe.
        summary["organisations (ODS)"] = _upsert(
            Organisation, [{**defaults, **r} for r in ods_rows], key=("code",),
            fields=("name", "opened", "closed"), create_fields=("type", *defaults),
            actor=actor, reason=reason,
        ).as_dict()
    # Successors may come later in the file: organisations first, then the links.
    linked = [r for r in org_rows if r.get("successor")]
    if linked:
        known = set(Organisation.objects.values_list("code", flat=True))
        for r in linked:
            if r["successor"] not in known:
                raise ReleaseFileError(f"{r['_where']}: successor {r['successor']} is not an organisation.")
        _upsert(Organisation, [{**r, "successor_id": r["successor"]} for r in linked], key=("code",),
                fields=("successor_id",), actor=actor, reason=reason)

    site_rows = rows.get("sites.csv", []) + (extra or {}).get("sites", [])
    if site_rows:
        known = set(Organisation.objects.values_list("code", flat=True))
        for r in site_rows:
            if r["organisation"] not in known:
                raise ReleaseFileError(
                    f"{r['_where']}: organisation {r['organisation']} of site {r['code']} is unknown."
                )
    summary["sites"] = _upsert(
        Site, _with_fk(site_rows, "organisation", "organisation_id"), key=("code",),
        fields=("name", "organisation_id", "opened", "closed"), actor=actor, reason=reason,
    ).as_dict()
    arrangement_rows = [
        {**r, "submitter_id": r["submitter"], "organisation_id": r["organisation"]}
        for r in rows.get("submitting_arrangements.csv", [])
    ]
    summary["submitting arrangements"] = _upsert(
        SubmittingArrangement, arrangement_rows,
        key=("submitter_id", "organisation_id", "valid_from"), fields=("valid_to",),
        actor=actor, reason=reason,
    ).as_dict()
    summary["SNOMED CT concepts"] = _upsert(
        SnomedConcept, rows.get("snomed.csv", []), key=("concept_id",),
        fields=("description", "modality", "valid_from", "valid_to"), actor=actor, reason=reason,
    ).as_dict()
    nicip_rows = _with_fk(rows.get("nicip.csv", []), "snomed_code", "snomed_id")
    if nicip_rows:
        known = set(SnomedConcept.objects.values_list("concept_id", flat=True))
        for r in nicip_rows:
            if r["snomed_id"] and r["snomed_id"] not in known:
                raise ReleaseFileError(
                    f"{r['_where']}: SNOMED CT concept {r['snomed_id']} of NICIP {r['code']} is unknown."
                )
    summary["NICIP codes"] = _upsert(
        NicipCode, nicip_rows, key=("code",),
        fields=("description", "modality", "snomed_id", "valid_from", "valid_to"),
        actor=actor, reason=reason,
    ).as_dict()

    changed = any(c["created"] or c["updated"] for c in summary.values())
    checksum = _checksum(release.paths) if release.paths else hashlib.sha256(b"").hexdigest()
    latest = ReferenceRelease.objects.first()
    if not changed and latest is not None and latest.checksum == checksum:
        return latest, False
    record = ReferenceRelease.objects.create(
        label=release.label, source=release.source[:500], is_sample=release.is_sample,
        checksum=checksum, summary=summary, loaded_by=actor if getattr(actor, "pk", None) else None,
    )
    # Bulk writes send no history signal: the load is one audit event, with its counts.
    audit_record(actor=actor, action=AuditAction.REFERENCE_CHANGED,
                 target=f"reference.referencerelease:{record.pk}",
                 after={"release": record.label, "checksum": checksum, "summary": summary})
    return record, changed


def ods_rows_as_organisations(rows: list[dict[str, Any]], *, type_: str) -> list[dict[str, Any]]:
    if type_ not in OrganisationType.values:
        raise ReleaseFileError(f"Unknown organisation type {type_!r}.")
    return [{**r, "type": type_} for r in rows]
