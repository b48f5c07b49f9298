"""The national product as Parquet for the national data platform.

Each cut-off writes its records, pseudonymised as extracts are (``nhs_number_pseudonym``:
HMAC-SHA256 under ``DIDS_PSEUDONYM_KEY``), in a hive layout under ``DIDS_PRODUCT_ROOT``
(default ``MEDIA_ROOT/product``)::

    month=2026-06/cutoff=provisional/part-0.parquet
    month=2026-06/cutoff=final/part-0.parquet

Every file has the same columns with the same types (``PRODUCT_SCHEMA``, empty products
included), so DuckDB, Spark and polars read years of it as one table
(``read_parquet('ROOT/**/*.parquet', hive_partitioning=true)``); ``month`` and ``cutoff`` come
from the path. A file is written beside its final name and renamed over it once complete
and fsynced, so a reader never sees half of one. The extracts worker writes it once the
cut-off commits (``submissions.tasks.write_product``), so the cut-off is not held up; the
due-cut-offs beat writes any a lost task left missing. ``provider`` is the organisation owning the
record's site (the submitter's otherwise), as the statistics count it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from reference.models import Site
from submissions.cycle.extracts import pseudonym_array
from submissions.models import CutOff, CutOffVersion, Record, Submission
from submissions.records_archive import ARROW_TYPES, copy_batches, records_source

logger = logging.getLogger(__name__)

# Fixed, so that months written by different releases read as one table.
RECORD_COLUMNS = (
    "nhs_number_status", "birth_date", "ethnic_category", "gender", "postcode", "gp_practice",
    "patient_source_setting", "referrer_code", "referring_org", "request_date",
    "request_received_date", "procedure_start", "procedure_end", "nicip_code", "snomed_code",
    "report_issued", "site_code", "accession_number", "evaluation_indicator",
    "activity_category", "waiting_list_clock_start", "activity_date", "report_day", "modality")
PRODUCT_SCHEMA = pa.schema(
    [("organisation", pa.string()), ("provider", pa.string()), ("submission_id", pa.int64()),
     ("line", pa.int64()), ("nhs_number_pseudonym", pa.string())]
    + [(c, ARROW_TYPES[Record._meta.get_field(c).get_internal_type()]) for c in RECORD_COLUMNS])
# What is read from the records table; organisation and provider are joined in afterwards.
_READ = pa.schema([PRODUCT_SCHEMA.field("submission_id"), PRODUCT_SCHEMA.field("line"),
                   pa.field("nhs_number", pa.string()), *list(PRODUCT_SCHEMA)[5:]])
CHUNK_RECORDS = 500_000  # versions are read, sorted and written this many records at a time


def product_root() -> Path:
    return Path(settings.DIDS_PRODUCT_ROOT or Path(settings.MEDIA_ROOT) / "product")


def product_path(cutoff: CutOff) -> Path:
    return (product_root() / f"month={cutoff.period.activity_month:%Y-%m}"
            / f"cutoff={cutoff.kind}" / "part-0.parquet")


def _select(table: str, ids: Sequence[int], month: date) -> str:
    """The versions' records, unordered and unjoined: the server only scans the month's
    partition (sorting and joining there cost more than the scan itself)."""
    columns = ", ".join(f"r.{c}" for c in _READ.names)
    return (f"SELECT {columns} FROM {table} r "  # noqa: S608
            f"WHERE r.activity_month = '{month.isoformat()}' "
            f"AND r.submission_id IN ({', '.join(str(int(i)) for i in ids)})")


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    """The versions in order, in runs of about ``CHUNK_RECORDS`` records."""
    sizes = dict(Submission.objects.filter(pk__in=list(ids)).values_list("pk", "accepted_rows"))
    chunk: list[int] = []
    records = 0
    for pk in ids:
        chunk.append(pk)
        records += sizes.get(pk) or 0
        if records >= CHUNK_RECORDS:
            yield chunk
            chunk, records = [], 0
    if chunk:
        yield chunk


def _read(table: str, ids: Sequence[int], month: date) -> pa.Table:
    if connection.vendor == "postgresql":
        return pa.concat_tables([_READ.empty_table(), *copy_batches(_select(table, ids, month),
                                                                    _READ)])
    with connection.cursor() as cursor:
        cursor.execute(_select(table, ids, month))
        return pa.Table.from_pylist([dict(zip(_READ.names, r, strict=True))
                                     for r in cursor.fetchall()], schema=_READ)


def _owners(ids: Sequence[int]) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Versions' ids and their organisations; sites' codes and theirs (the provider)."""
    versions = list(Submission.objects.filter(pk__in=list(ids))
                    .values_list("pk", "organisation_id"))
    sites = list(Site.objects.values_list("code", "organisation_id"))
    return (pa.array([v[0] for v in versions], pa.int64()),
            pa.array([v[1] for v in versions], pa.string()),
            pa.array([s[0] for s in sites], pa.string()),
            pa.array([s[1] for s in sites], pa.string()))


def _product_table(read: pa.Table, owners: tuple[pa.Array, ...], key: bytes) -> pa.Table:
    """The product's columns, built one by one: in version and line order, the organisation
    of the version, the provider (the organisation owning the record's site, the version's
    otherwise), the NHS number's pseudonym, the record's columns."""
    read = read.take(pc.sort_indices(read, sort_keys=[("submission_id", "ascending"),
                                                      ("line", "ascending")]))
    version_ids, organisations, site_codes, site_owners = owners
    organisation = organisations.take(pc.index_in(read["submission_id"], value_set=version_ids))
    provider = pc.coalesce(site_owners.take(pc.index_in(read["site_code"], value_set=site_codes)),
                           organisation)
    columns = [organisation, provider, read["submission_id"], read["line"],
               pseudonym_array(read["nhs_number"], key)]
    columns += [read[name] for name in RECORD_COLUMNS]
    return pa.Table.from_arrays(columns, schema=PRODUCT_SCHEMA)


def _tables(cutoff: CutOff, ids: Sequence[int], key: bytes) -> Iterator[pa.Table]:
    month = cutoff.period.activity_month
    owners = _owners(ids)
    with records_source(ids) as table:
        for chunk in _chunks(ids):
            yield _product_table(_read(table, chunk, month), owners, key)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def product_write(*, cutoff: CutOff) -> Path | None:
    """Write the cut-off's product file (replacing one a previous run wrote); None, with a
    warning, where no pseudonym key is set (the product is never written unpseudonymised)."""
    key = (settings.DIDS_PSEUDONYM_KEY or "").encode()
    if not key:
        logger.warning("No DIDS_PSEUDONYM_KEY: the Parquet product of %s was not written", cutoff)
        return None
    ids = sorted(CutOffVersion.objects.filter(cutoff=cutoff).values_list("submission_id",
                                                                       flat=True))
    path = product_path(cutoff)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with pq.ParquetWriter(partial, PRODUCT_SCHEMA, compression="zstd") as writer:
            for table in _tables(cutoff, ids, key) if ids else ():
                writer.write_table(table)
        _fsync(partial)
        os.replace(partial, path)
        _fsync(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return path


def products_write_missing(*, since: date) -> list[Path]:
    """Write the product of every cut-off of a month from ``since`` whose file is missing (its
    task was lost); nothing without the pseudonym key."""
    if not settings.DIDS_PSEUDONYM_KEY:
        return []
    written = []
    for cutoff in (CutOff.objects.select_related("period").defer("manifest")
                   .filter(period__activity_month__gte=since)):
        if not product_path(cutoff).exists():
            logger.warning("The Parquet product of %s was missing: writing it", cutoff)
            path = product_write(cutoff=cutoff)
            if path is not None:
                written.append(path)
    return written
