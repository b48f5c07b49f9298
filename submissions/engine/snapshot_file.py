"""A reference snapshot as one versioned file: what the portal exports and ``dids-check`` reads.

The file is JSON (gzip-compressed when its name ends in ``.gz``; reading detects gzip by its
magic bytes): ``format_version``, ``reference_release``, ``ruleset_version`` (the rule set the
portal ran when it exported), ``exported_at``, and the code lists, NICIP and SNOMED codes,
organisations, sites and submitting arrangements the engine checks against. Dates are ISO
strings; null means open-ended.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from .reference import Arrangement, NicipCode, OrgRef, ReferenceSnapshot, SiteRef, SnomedCode

FORMAT_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"


class SnapshotFileError(ValueError):
    """The file is not a reference snapshot this checker can read."""


def snapshot_document(snapshot: ReferenceSnapshot, *, ruleset_version: str,
                      exported_at: datetime | None = None) -> dict[str, Any]:
    """The snapshot as the plain JSON document of the file format."""
    when = (exported_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "format_version": FORMAT_VERSION,
        "reference_release": snapshot.release,
        "ruleset_version": ruleset_version,
        "exported_at": when.isoformat(timespec="seconds"),
        "code_lists": {
            name: {code: [[_iso(a), _iso(b)] for a, b in intervals]
                   for code, intervals in sorted(codes.items())}
            for name, codes in sorted(snapshot.code_lists.items())
        },
        "nicip": [[n.code, n.modality, n.snomed_code, _iso(n.valid_from), _iso(n.valid_to)]
                  for n in sorted(snapshot.nicip.values(), key=lambda n: n.code)],
        "snomed": [[s.concept_id, s.modality, _iso(s.valid_from), _iso(s.valid_to)]
                   for s in sorted(snapshot.snomed.values(), key=lambda s: s.concept_id)],
        "organisations": [[o.code, o.type, _iso(o.opened), _iso(o.closed), o.successor]
                          for o in sorted(snapshot.organisations.values(), key=lambda o: o.code)],
        "sites": [[s.code, s.organisation, _iso(s.opened), _iso(s.closed)]
                  for s in sorted(snapshot.sites.values(), key=lambda s: s.code)],
        "arrangements": [[a.submitter, a.organisation, _iso(a.valid_from), _iso(a.valid_to)]
                         for a in snapshot.arrangements],
    }


def snapshot_bytes(snapshot: ReferenceSnapshot, *, ruleset_version: str,
                   exported_at: datetime | None = None, compress: bool = False) -> bytes:
    text = json.dumps(snapshot_document(snapshot, ruleset_version=ruleset_version,
                                        exported_at=exported_at), separators=(",", ":"))
    data = text.encode("utf-8")
    return gzip.compress(data, mtime=0) if compress else data


def snapshot_write(snapshot: ReferenceSnapshot, path: str | Path, *, ruleset_version: str,
                   exported_at: datetime | None = None) -> None:
    target = Path(path)
    target.write_bytes(snapshot_bytes(snapshot, ruleset_version=ruleset_version,
                                      exported_at=exported_at, compress=target.suffix == ".gz"))


class SnapshotFile:
    """A snapshot read from a file, with what the file says about itself."""

    def __init__(self, snapshot: ReferenceSnapshot, *, ruleset_version: str, exported_at: datetime,
                 format_version: int):
        self.snapshot = snapshot
        self.ruleset_version = ruleset_version
        self.exported_at = exported_at
        self.format_version = format_version


def snapshot_read(source: str | Path | IO[bytes]) -> SnapshotFile:
    raw = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
    if raw[:2] == GZIP_MAGIC:
        raw = gzip.decompress(raw)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotFileError("not a reference snapshot (not JSON)") from exc
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise SnapshotFileError("not a reference snapshot (no format_version)")
    if doc["format_version"] != FORMAT_VERSION:
        raise SnapshotFileError(f"snapshot format {doc['format_version']} is not supported by "
                                f"this checker (it reads format {FORMAT_VERSION}); upgrade it")
    return SnapshotFile(snapshot_from_document(doc), ruleset_version=doc["ruleset_version"],
                        exported_at=datetime.fromisoformat(doc["exported_at"]),
                        format_version=doc["format_version"])


def snapshot_from_document(doc: dict[str, Any]) -> ReferenceSnapshot:
    return ReferenceSnapshot(
        release=doc["reference_release"],
        code_lists={
            name: {code: [(_date(a), _date(b)) for a, b in intervals]
                   for code, intervals in codes.items()}
            for name, codes in doc["code_lists"].items()
        },
        nicip={c: NicipCode(c, m, s, _date(a), _date(b)) for c, m, s, a, b in doc["nicip"]},
        snomed={c: SnomedCode(c, m, _date(a), _date(b)) for c, m, a, b in doc["snomed"]},
        organisations={c: OrgRef(c, t, _date(a), _date(b), succ)
                       for c, t, a, b, succ in doc["organisations"]},
        sites={c: SiteRef(c, o, _date(a), _date(b)) for c, o, a, b in doc["sites"]},
        arrangements=[Arrangement(s, o, _date(a), _date(b)) for s, o, a, b in doc["arrangements"]],
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
